// Tracing and the graph it builds: common subexpressions, what must never be merged,
// scripted == traced, multi-output models, and the plan's kernel count.
#include <catch2/catch.hpp>
#include <cmath>
#include <loom/loom.hpp>

#include <algorithm>
#include <string_view>
#include <tuple>
#include <typeinfo>
#include "test_support.hpp"

namespace {

using loom::dyn;
using vec = loom::tensor<float, loom::extents<dyn>>;
using vec_input = loom::input<float, loom::extents<dyn>>;

vec random_vec(std::size_t n, unsigned seed) {
  vec v(n);
  loom_test::fill_uniform(v, seed, -3, 3);
  return v;
}

}  // namespace

TEST_CASE("different run-time scalars of one type stay two nodes", "[trace][cse]") {
  // x * 2.f and x * 3.f have the same nested type; merging them would compute 4x or 6x.
  // The model's graph merges copies by type; compile() finds the scalars differ, so the
  // model runs op by op instead.
  auto m = loom::compile([](auto x) { return x * 2.f + x * 3.f; }, vec_input{});
  REQUIRE(m.apart() != nullptr);
  const vec x = random_vec(1001, 1);
  const vec y = m(x);
  for (std::size_t i = 0; i < x.size(); ++i)
    REQUIRE(y(i) == Approx(5.0 * x(i)).epsilon(1e-6).margin(1e-6));
}

TEST_CASE("a repeated pure subexpression is one node", "[trace][cse]") {
  // The softmax pattern: exp(x - c) written twice is computed once.
  auto m = loom::compile(
      [](auto x) {
        auto a = loom::exp(x - loom::lit<1.f>);
        auto b = loom::exp(x - loom::lit<1.f>);
        return a / (a + b);
      },
      vec_input{});
  // input, literal, sub, exp, add, div
  STATIC_REQUIRE(decltype(m)::node_count == 6);
  const vec y = m(random_vec(100, 2));
  for (float v : y) REQUIRE(v == Approx(0.5));
}

TEST_CASE("a value reused at every level is one node per level", "[trace][cse]") {
  // Each level uses the previous value twice, so the traced tree has 2^12 leaves; the graph
  // has 13 nodes, and flattening visits each shared subtree once (this file would not
  // compile in reasonable time otherwise).
  auto m = loom::compile(
      [](auto x) {
        auto y = x;
        auto twice = [](auto v) {
          return v + v;
        };
        auto y12 =
            twice(twice(twice(twice(twice(twice(twice(twice(twice(twice(twice(twice(y))))))))))));
        return y12;
      },
      vec_input{});
  STATIC_REQUIRE(decltype(m)::node_count == 13);
  const vec x = random_vec(100, 11);
  const vec r = m(x);
  for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(r(i) == 4096.f * x(i));
}

TEST_CASE("equal literals merge and fold", "[trace][cse]") {
  auto m = loom::compile([](auto x) { return x * loom::lit<2> + x * loom::lit<2>; }, vec_input{});
  // input, literal, mul, add: the literal's int type adopts the tensor's f32.
  STATIC_REQUIRE(decltype(m)::node_count == 4);
  const vec x = random_vec(77, 3);
  const vec y = m(x);
  for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(y(i) == Approx(4.0 * x(i)));
}

TEST_CASE("an op on literals alone keeps their dtype", "[trace]") {
  // 0.9^t in f32, with 0.9 a literal: the cast meets no tensor whose dtype it could adopt.
  auto m = loom::compile([](auto t) { return loom::pow(loom::cast<float>(loom::lit<0.9>), t); },
                         loom::input<float, loom::extents<dyn>>{});
  vec t(5);
  loom_test::fill_normal(t, 7, 0.0, 3.0);
  const vec got = m(t);
  for (std::size_t i = 0; i < 5; ++i)
    CHECK(got(i) == Approx(std::pow(0.9, double(t(i)))).epsilon(1e-6));
}

TEST_CASE("scripted and traced forms give the same graph type", "[trace][script]") {
  auto model = [](auto x, auto y) {
    return loom::tanh(x * y) + loom::lit<1.f>;
  };
  auto traced = loom::compile(model, vec_input{}, vec_input{});
  loom::placeholder<0, float, loom::extents<dyn>> x;
  loom::placeholder<1, float, loom::extents<dyn>> y;
  auto scripted = loom::compile(loom::tanh(x * y) + loom::lit<1.f>);
  STATIC_REQUIRE(std::is_same_v<decltype(traced)::graph_type, decltype(scripted)::graph_type>);
  const vec a = random_vec(300, 4), b = random_vec(300, 5);
  const vec r1 = traced(a, b), r2 = scripted(a, b), r3 = model(a, b);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double expect = std::tanh(double(a(i)) * b(i)) + 1.0;
    REQUIRE(r1(i) == Approx(expect).epsilon(1e-6).margin(1e-6));
    REQUIRE(r2(i) == r1(i));
    REQUIRE(r3(i) == Approx(r1(i)).epsilon(1e-6).margin(1e-6));
  }
}

namespace {
// The graph type a CPU model runs (its first template argument).
template <class Model>
struct graph_run_by;
template <class G, class... Inputs>
struct graph_run_by<loom::compiled_model<G, Inputs...>> {
  using type = G;
};
}  // namespace

TEST_CASE("a compiled model runs its graph under a short name of its own", "[trace][compile]") {
  // Every function a model instantiates is named after the graph type it runs, and g++ builds
  // those names for every function it keeps. compile() runs the traced graph (graph_type, whose
  // name spells out each node) as a class of its own, named after the model and its inputs;
  // both have one plan.
  auto model = [](auto x, auto y) {
    return loom::softmax(loom::tanh(x * y) + loom::exp(-x) * loom::sigmoid(y) - loom::lit<1.f>);
  };
  using matrix = loom::input<float, loom::extents<dyn, 16>>;
  auto m = loom::compile(model, matrix{}, matrix{});
  using traced = decltype(m)::graph_type;
  using runs = graph_run_by<decltype(m)>::type;
  STATIC_REQUIRE(std::is_base_of_v<traced, runs>);
  STATIC_REQUIRE(traced::node_count > 15);
  const std::string_view traced_name = typeid(traced).name(), run_name = typeid(runs).name();
  CHECK(run_name.size() * 3 < traced_name.size());
  CHECK(&decltype(m)::plan::steps == &loom::fusion_plan<traced>::steps);
  loom::tensor<float, loom::extents<dyn, 16>> a(3), b(3);
  loom_test::fill_uniform(a, 7, -2, 2);
  loom_test::fill_uniform(b, 8, -2, 2);
  const auto got = m(a, b);
  for (std::size_t r = 0; r < 3; ++r) {
    double z[16], sum = 0;
    for (std::size_t c = 0; c < 16; ++c) {
      const double x = a(r, c), y = b(r, c);
      z[c] = std::tanh(x * y) + std::exp(-x) / (1 + std::exp(-y)) - 1;
    }
    const double top = *std::max_element(z, z + 16);
    for (double v : z) sum += std::exp(v - top);
    for (std::size_t c = 0; c < 16; ++c)
      REQUIRE(got(r, c) == Approx(std::exp(z[c] - top) / sum).epsilon(1e-5).margin(1e-6));
  }
}

TEST_CASE("a scripted graph may have several results", "[trace][script]") {
  loom::placeholder<0, float, loom::extents<dyn>> x;
  auto results = std::make_tuple(loom::relu(x), x * loom::lit<3>);  // a non-const tuple
  auto m = loom::compile(results);
  const vec in = random_vec(70, 12);
  auto [a, b] = m(in);
  for (std::size_t i = 0; i < in.size(); ++i) {
    REQUIRE(a(i) == (in(i) > 0 ? in(i) : 0.f));
    REQUIRE(b(i) == 3 * in(i));
  }
  auto m2 = loom::compile(std::make_tuple(-x, loom::abs(x)));  // a temporary tuple
  auto [c, d] = m2(in);
  REQUIRE((c(5) == -in(5) && d(5) == std::abs(in(5))));
}

TEST_CASE("compile takes example tensors as torch.jit.trace does", "[trace]") {
  const vec x = random_vec(64, 6);
  auto m = loom::compile([](auto v) { return loom::square(v); }, x);
  const vec y = m(x);
  for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(y(i) == Approx(double(x(i)) * x(i)));
}

TEST_CASE("a multi-output model runs in one pass", "[trace][outputs]") {
  auto m = loom::compile(
      [](auto x) {
        auto r = loom::relu(x);
        return std::make_tuple(r * 2.f, r + x, x);
      },
      vec_input{});
  STATIC_REQUIRE(decltype(m)::kernel_count == 1);
  STATIC_REQUIRE(decltype(m)::output_count == 3);
  const vec x = random_vec(1000, 7);
  auto [a, b, c] = m(x);
  vec a2(1000), b2(1000), c2(1000);
  m.run(std::tie(a2, b2, c2), x);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double r = x(i) > 0 ? x(i) : 0.0;
    REQUIRE(a(i) == Approx(2 * r));
    REQUIRE(b(i) == Approx(r + x(i)).margin(1e-6));
    REQUIRE(c(i) == x(i));
    REQUIRE((a2(i) == a(i) && b2(i) == b(i) && c2(i) == c(i)));
  }
}

TEST_CASE("outputs of different static extents are different groups", "[trace][plan]") {
  auto m = loom::compile([](auto x, auto y) { return std::make_tuple(x * 2.f, x + y); },
                         loom::input<float, loom::extents<4>>{},
                         loom::input<float, loom::extents<3, 4>>{});
  STATIC_REQUIRE(decltype(m)::kernel_count == 2);
  loom::tensor<float, loom::extents<4>> x;
  loom::tensor<float, loom::extents<3, 4>> y;
  for (std::size_t j = 0; j < 4; ++j) x(j) = float(j) - 1.5f;
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 4; ++j) y(i, j) = float(i * 10 + j);
  auto [a, b] = m(x, y);
  STATIC_REQUIRE(std::is_same_v<decltype(b), loom::tensor<float, loom::extents<3, 4>>>);
  for (std::size_t j = 0; j < 4; ++j) REQUIRE(a(j) == 2 * x(j));
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 4; ++j) REQUIRE(b(i, j) == x(j) + y(i, j));
  const std::string text = loom::explain(m);
  CHECK_THAT(text, Catch::Contains("2 kernels"));
  CHECK_THAT(text, Catch::Contains("another iteration space (other extents"));
}

TEST_CASE("outputs of different inputs with equal static extents may differ at run time",
          "[trace]") {
  // Both are [?], but nothing says x and y have one length: each output is its own pass.
  auto m = loom::compile(
      [](auto x, auto y) { return std::make_tuple(-x, -y); }, vec_input{}, vec_input{});
  static_assert(decltype(m)::kernel_count == 2);
  const vec x = random_vec(3, 8), y = random_vec(4, 9);
  const auto [nx, ny] = m(x, y);
  REQUIRE(nx.size() == 3);
  REQUIRE(ny.size() == 4);
  for (std::size_t i = 0; i < 3; ++i) CHECK(nx(i) == -x(i));
  for (std::size_t i = 0; i < 4; ++i) CHECK(ny(i) == -y(i));
}

TEST_CASE("explain lists nodes, groups and opaque nodes", "[trace][explain]") {
  auto m = loom::compile([](auto x) { return loom::sigmoid(x) * 0.5f; }, vec_input{});
  const std::string text = loom::explain(m);
  CHECK_THAT(text, Catch::Contains("1 kernels"));
  CHECK_THAT(text, Catch::Contains("%1 = sigmoid %0 : f32[?]"));
  CHECK_THAT(text, Catch::Contains("scalar 0.5 (run-time parameter)"));
  CHECK_THAT(text,
             Catch::Contains("group 0 (fused pass)\n  step 0: map; reads %0; computes %1 %2 "
                             "%3; writes %3\n  ends: end of graph"));
}

TEST_CASE("a compiled model checks dynamic extents on entry", "[trace][errors]") {
  auto m =
      loom::compile([](auto x) { return x + 1.f; }, loom::input<float, loom::extents<dyn, 4>>{});
  loom::tensor<float, loom::extents<dyn, dyn>> bad(3, 5);
  REQUIRE_THROWS_AS(m(bad), loom::shape_error);
  REQUIRE_THROWS_WITH(m(bad), Catch::Contains("[3, 5]") && Catch::Contains("[?, 4]"));
  loom::tensor<float, loom::extents<dyn, 4>> x(2), wrong(3);
  REQUIRE_THROWS_WITH(m.run(wrong, x), Catch::Contains("[3, 4]") && Catch::Contains("[2, 4]"));
}

TEST_CASE("an op whose operands are one value plans and runs", "[trace][plan]") {
  // a * a names `a` twice: the plan's walks over the operands must visit it once.
  auto m = loom::compile(
      [](auto x) {
        auto a = x + x;
        return std::make_tuple(a * a, a);
      },
      vec_input{});
  const vec x = random_vec(130, 12);
  const auto [square, twice] = m(x);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double a = 2.0 * x(i);
    REQUIRE(twice(i) == float(a));
    REQUIRE(square(i) == Approx(a * a).epsilon(1e-6));
  }
}

TEST_CASE("running in place across fusion groups is refused", "[trace][errors]") {
  // Group 0 writes x*10 over x; group 1 would then read the new x.
  auto m = loom::compile([](auto x, auto y) { return std::make_tuple(x * 10.f, x + y); },
                         loom::input<float, loom::extents<4>>{},
                         loom::input<float, loom::extents<3, 4>>{});
  loom::tensor<float, loom::extents<4>> x;
  loom::tensor<float, loom::extents<3, 4>> y, sum;
  x.fill(1.f);
  y.fill(2.f);
  REQUIRE_THROWS_WITH(m.run(std::tie(x, sum), x, y), Catch::Contains("overlaps input 0"));
  CHECK(x(0) == 1.f);  // refused before anything was written
  loom::tensor<float, loom::extents<4>> scaled;
  m.run(std::tie(scaled, y), x, y);  // the last group may write over what only it reads
  CHECK((scaled(3) == 10.f && y(2, 3) == 3.f));
}

TEST_CASE("an output that overlaps its input without being it is refused", "[trace][errors]") {
  // Shifted by one element, or a row broadcast over a matrix written on top of it: the pass
  // would overwrite elements it has yet to read.
  auto m = loom::compile([](auto x) { return x * 2.f; }, vec_input{});
  vec buffer = random_vec(101, 11);
  const vec before = buffer;
  const loom::tensor_view<const float> x(buffer.data(), loom::shape{1, {100}});
  const loom::tensor_view<float> shifted(buffer.data() + 1, loom::shape{1, {100}});
  REQUIRE_THROWS_WITH(m.run(shifted, x), Catch::Contains("overlaps input 0"));
  auto add = loom::compile([](auto row, auto matrix) { return matrix + row; },
                           loom::input<float, loom::extents<4>>{},
                           loom::input<float, loom::extents<3, 4>>{});
  loom::tensor<float, loom::extents<3, 4>> matrix;
  matrix.fill(1.f);
  const loom::tensor_view<const float, loom::extents<4>> row(matrix.data(), loom::shape{1, {4}});
  REQUIRE_THROWS_WITH(add.run(matrix, row, matrix), Catch::Contains("overlaps input 0"));
  for (std::size_t i = 0; i < buffer.size(); ++i) REQUIRE(buffer(i) == before(i));
}

TEST_CASE("an output buffer may alias its input", "[trace]") {
  auto m = loom::compile([](auto x) { return x * x + 1.f; }, vec_input{});
  vec x = random_vec(1000, 10);
  const vec before = x;
  m.run(x, x);
  for (std::size_t i = 0; i < x.size(); ++i)
    REQUIRE(x(i) == Approx(double(before(i)) * before(i) + 1));
}
