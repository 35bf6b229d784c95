// Nodes that run once per call between fused groups: whole-tensor allow_in_graph<F> (an
// Eigen solver, a writer with side effects), hooks and fusion barriers. Checked: F is called
// exactly once per run and only on materialised inputs, impure calls are never merged or
// reordered, hooks see the right values in program order and change no result.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <Eigen/LU>
#include <cmath>
#include <cstddef>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "test_support.hpp"

using Catch::Matchers::Contains;
using loom::dyn;
using loom::extents;
using loom_test::fill_uniform;

namespace {

using mat = loom::tensor<float, extents<dyn, dyn>>;
using mat_input = loom::input<float, extents<dyn, dyn>>;
using vec = loom::tensor<float, extents<dyn>>;
using vec_input = loom::input<float, extents<dyn>>;

// Solves A X = B with Eigen's LU: a library call the tracer must not look into. Its result
// has B's extents.
struct solve {
  using granularity = loom::whole_tensor;
  template <class A, class B>
  using output_extents = B;
  static loom::shape output_shape(const loom::shape&, const loom::shape& b) { return b; }

  void operator()(loom::tensor_view<const double, extents<dyn, dyn>> a,
                  loom::tensor_view<const double, extents<dyn, dyn>> b,
                  loom::tensor_view<double, extents<dyn, dyn>> x) const {
    using matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const auto n = Eigen::Index(a.extent(0)), m = Eigen::Index(b.extent(1));
    Eigen::Map<const matrix> A(a.data(), n, n), B(b.data(), n, m);
    Eigen::Map<matrix>(x.data(), n, m) = A.partialPivLu().solve(B);
  }
};

// Sums each row, counts its calls and records the inputs it was given: the checks that F
// runs once per call, on complete (materialised) values.
struct row_sums {
  using granularity = loom::whole_tensor;
  template <class E>
  using output_extents = extents<dyn>;
  static loom::shape output_shape(const loom::shape& in) {
    return loom_test::make_shape({in.dims[0]});
  }

  int* calls;
  std::vector<float>* seen;
  void operator()(loom::tensor_view<const float, extents<dyn, dyn>> in,
                  loom::tensor_view<float, extents<dyn>> out) const {
    ++*calls;
    seen->assign(in.begin(), in.end());
    for (std::size_t r = 0; r < in.extent(0); ++r) {
      float s = 0;
      for (std::size_t c = 0; c < in.extent(1); ++c) s += in(r, c);
      out(r) = s;
    }
  }
};

// Writes its input to a stream: a side effect, so it must never be merged or reordered.
struct write_values {
  using granularity = loom::whole_tensor;
  static constexpr bool is_pure = false;
  std::ostringstream* log;
  void operator()(loom::tensor_view<const float, extents<dyn>> in,
                  loom::tensor_view<float, extents<dyn>> out) const {
    for (std::size_t i = 0; i < in.size(); ++i) {
      *log << in(i) << ' ';
      out(i) = in(i);
    }
    *log << "| ";
  }
};

// Declares [?, 4] results but computes another shape.
struct liar {
  using granularity = loom::whole_tensor;
  template <class E>
  using output_extents = extents<dyn, 4>;
  static loom::shape output_shape(const loom::shape&) { return loom_test::make_shape({2, 5}); }
  void operator()(loom::tensor_view<const float, extents<dyn>>,
                  loom::tensor_view<float, extents<dyn, 4>>) const {}
};

// Declares that its result's dyn extents are its input's, but computes one more.
struct longer_than_said {
  using granularity = loom::whole_tensor;
  template <class E>
  using output_extents = extents<dyn>;
  static constexpr std::size_t output_extents_of_input = 0;
  static loom::shape output_shape(const loom::shape& in) {
    return loom_test::make_shape({in.dims[0] + 1});
  }
  void operator()(loom::tensor_view<const float, extents<dyn>>,
                  loom::tensor_view<float, extents<dyn>>) const {}
};

}  // namespace

TEST_CASE("a whole-tensor F calls Eigen's solver once, on materialised inputs", "[calls]") {
  auto m =
      loom::compile([](auto a, auto b) { return loom::allow_in_graph<solve>{}(a * 2.0, b) * 2.0; },
                    loom::input<double, extents<dyn, dyn>>{},
                    loom::input<double, extents<dyn, dyn>>{});
  using plan = decltype(m)::plan;
  static_assert(plan::group_count == 3 && decltype(m)::kernel_count == 2);
  static_assert(plan::groups[0].end == loom::group_end::call);
  loom::tensor<double, extents<dyn, dyn>> a(6, 6), b(6, 3);
  fill_uniform(a, 1, -1, 1);
  fill_uniform(b, 2, -1, 1);
  for (std::size_t i = 0; i < 6; ++i) a(i, i) += 4;  // well conditioned
  const auto x = m(a, b);
  // x = 2 (2a)^-1 b: so a x = b.
  for (std::size_t i = 0; i < 6; ++i)
    for (std::size_t j = 0; j < 3; ++j) {
      double r = 0;
      for (std::size_t p = 0; p < 6; ++p) r += a(i, p) * x(p, j);
      REQUIRE(r == Approx(b(i, j)).margin(1e-12));
    }
  // Eagerly, allow_in_graph<F> on tensors calls F at once.
  const auto eager = loom::allow_in_graph<solve>{}(a, b);
  for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(eager.data()[i] == Approx(x.data()[i]));
}

TEST_CASE("F runs exactly once per call and sees complete values", "[calls]") {
  int calls = 0;
  std::vector<float> seen;
  auto model = [&](auto x) {
    auto sums = loom::allow_in_graph<row_sums>{{&calls, &seen}}(loom::exp(x) + 1.f);
    return std::make_tuple(sums * 3.f, sums + 1.f, x * 2.f);
  };
  auto m = loom::compile(model, mat_input{});
  mat x(70, 300);  // above the threading threshold
  fill_uniform(x, 3, -1, 1);
  const auto [tripled, plus_one, doubled] = m(x);
  CHECK(calls == 1);
  REQUIRE(seen.size() == x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    REQUIRE(seen[i] == Approx(std::exp(x.data()[i]) + 1).epsilon(1e-6));
  for (std::size_t r = 0; r < 70; ++r) {
    double s = 0;
    for (std::size_t c = 0; c < 300; ++c) s += std::exp(double(x(r, c))) + 1;
    REQUIRE(tripled(r) == Approx(3 * s).epsilon(1e-5));
    REQUIRE(plus_one(r) == Approx(s + 1).epsilon(1e-5));
  }
  m(x);
  CHECK(calls == 2);
}

TEST_CASE("impure whole-tensor calls keep their order and are never merged", "[calls][impure]") {
  std::ostringstream log;
  const loom::allow_in_graph<write_values> writer{{&log}};
  auto model = [&](auto x) {
    auto first = writer(x);
    auto second = writer(x + 1.f);
    auto again = writer(x);  // the same call as `first`, spelled twice: it runs twice
    return first + second + again;
  };
  auto m = loom::compile(model, vec_input{});
  vec x(3);
  for (std::size_t i = 0; i < 3; ++i) x(i) = float(i);
  const vec y = m(x);
  CHECK(log.str() == "0 1 2 | 1 2 3 | 0 1 2 | ");
  for (std::size_t i = 0; i < 3; ++i) CHECK(y(i) == float(3 * i + 1));
  // One call whose result is used twice runs once, as in eager mode.
  log.str("");
  auto reused = loom::compile(
      [&](auto x) {
        auto once = writer(x);
        return once * once;
      },
      vec_input{});
  reused(x);
  CHECK(log.str() == "0 1 2 | ");
}

TEST_CASE("hooks see each value once per run, in program order", "[calls][hooks]") {
  std::vector<std::string> order;
  std::vector<std::vector<float>> values;
  auto record = [&](std::string name) {
    return [&order, &values, name](auto view) {
      order.push_back(name);
      values.emplace_back(view.begin(), view.end());
    };
  };
  auto model = [&](auto x) {
    auto a = loom::hook(loom::relu(x), record("relu"));
    auto b = loom::hook(a * 2.f, record("double"));
    auto c = loom::hook(loom::sum(b, loom::axes<0>, loom::keepdims), record("sum"));
    return b + c;
  };
  auto plain = [](auto x) {
    auto b = loom::relu(x) * 2.f;
    return b + loom::sum(b, loom::axes<0>, loom::keepdims);
  };
  auto m = loom::compile(model, vec_input{});
  auto reference = loom::compile(plain, vec_input{});
  vec x(100);
  fill_uniform(x, 4, -1, 1);
  const vec y = m(x);
  REQUIRE(order == std::vector<std::string>{"relu", "double", "sum"});
  REQUIRE(values[0].size() == 100);
  REQUIRE(values[2].size() == 1);
  double total = 0;
  for (std::size_t i = 0; i < 100; ++i) {
    const double relu = std::max(double(x(i)), 0.0);
    REQUIRE(values[0][i] == Approx(relu));
    REQUIRE(values[1][i] == Approx(2 * relu));
    total += 2 * relu;
  }
  CHECK(values[2][0] == Approx(total).epsilon(1e-5));
  // Hooks change no result.
  LOOM_CHECK_REPORT(loom_test::compare_same(y, reference(x), "hooked vs plain"));
  m(x);
  CHECK(order.size() == 6);
  // Eagerly the callback runs at once.
  order.clear();
  loom::hook(x, record("eager"));
  CHECK(order == std::vector<std::string>{"eager"});
}

TEST_CASE("a hook or barrier returned as a model output is copied out", "[calls][hooks]") {
  int calls = 0;
  auto m = loom::compile(
      [&](auto x) {
        auto h = loom::hook(x * 3.f, [&calls](auto) { ++calls; });
        return std::make_tuple(
            h, loom::fusion_barrier(h + 1.f), loom::hook(x, [&calls](auto) { ++calls; }));
      },
      vec_input{});
  vec x(5);
  fill_uniform(x, 5, -1, 1);
  const auto [h, barrier, same] = m(x);
  CHECK(calls == 2);
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(h(i) == x(i) * 3.f);
    CHECK(barrier(i) == Approx(x(i) * 3.f + 1.f).epsilon(1e-6));
    CHECK(same(i) == x(i));
  }
}

TEST_CASE("fusion_barrier materialises on purpose and changes no result", "[calls][fusion]") {
  auto fused = loom::compile([](auto x) { return loom::exp(x) * 2.f + 1.f; }, vec_input{});
  auto split = loom::compile([](auto x) { return loom::fusion_barrier(loom::exp(x) * 2.f) + 1.f; },
                             vec_input{});
  using plan = decltype(split)::plan;
  static_assert(decltype(fused)::kernel_count == 1);
  static_assert(decltype(split)::kernel_count == 2 && plan::group_count == 3);
  static_assert(plan::groups[0].end == loom::group_end::call);
  static_assert(plan::groups[1].is_call);
  vec x(1000);
  fill_uniform(x, 6, -3, 3);
  LOOM_CHECK_REPORT(loom_test::compare_same(split(x), fused(x), "with and without barrier"));
}

TEST_CASE("a whole-tensor F whose output_shape breaks its own extents throws", "[calls][errors]") {
  auto m = loom::compile([](auto x) { return loom::allow_in_graph<liar>{}(x); }, vec_input{});
  vec x(3);
  REQUIRE_THROWS_AS(m(x), loom::shape_error);
  REQUIRE_THROWS_WITH(m(x), Contains("liar") && Contains("[2, 5]") && Contains("[?, 4]"));
}

TEST_CASE("a whole-tensor F whose result's dyn extents are not the input's it names throws",
          "[calls][errors]") {
  auto m = loom::compile([](auto x) { return loom::allow_in_graph<longer_than_said>{}(x); },
                         vec_input{});
  vec x(3);
  REQUIRE_THROWS_AS(m(x), loom::shape_error);
  REQUIRE_THROWS_WITH(m(x),
                      Contains("longer_than_said") && Contains("[4]") && Contains("input 0 ([3])"));
}
