// The fusion plan as a compile-time value: which values are materialised, how steps group
// into passes, the reason each group ends, fullgraph, and the run-time fallback when dynamic
// extents do not split into the rows the static ones promised.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <cmath>
#include <cstddef>
#include <tuple>

#include "test_support.hpp"

using loom::dyn;
using loom::extents;
using loom::group_end;
using loom_test::fill_uniform;

namespace {

using rows_input = loom::input<float, extents<dyn, 256>>;
using rows = loom::tensor<float, extents<dyn, 256>>;

const auto softmax = [](auto x) {
  auto e = loom::exp(x - loom::max(x, loom::axes<-1>, loom::keepdims));
  return e / loom::sum(e, loom::axes<-1>, loom::keepdims);
};

const auto layer_norm = [](auto x, auto gamma, auto beta) {
  auto centred = x - loom::mean(x, loom::axes<-1>, loom::keepdims);
  auto var = loom::mean(centred * centred, loom::axes<-1>, loom::keepdims);
  return centred * loom::rsqrt(var + 1e-5f) * gamma + beta;
};

template <class Model>
using plan_of = typename Model::plan;

// Element-wise callables, one declaring its cost and one not.
struct declared {
  static constexpr int cost = 2;
  float operator()(float x) const { return x + 1; }
};
struct undeclared {
  float operator()(float x) const { return x * x; }
};

}  // namespace

TEST_CASE("softmax and layer norm are one pass over rows", "[plan]") {
  auto sm = loom::compile(softmax, rows_input{});
  using sp = plan_of<decltype(sm)>;
  static_assert(sp::kernel_count == 1 && sp::group_count == 1);
  static_assert(sp::step_count == 3 && sp::groups[0].split == 1);
  static_assert(sp::steps[0].kind == loom::step_kind::reduce &&
                sp::steps[1].kind == loom::step_kind::reduce &&
                sp::steps[2].kind == loom::step_kind::map);
  // Only the output and the two per-row values are materialised: no full-size temporary.
  static_assert(sp::materialized[0] == false);
  std::size_t full_size = 0;
  for (std::size_t i = 0; i < sp::node_count; ++i)
    full_size += sp::materialized[i] && sp::nodes[i].dims[1] == 256;
  CHECK(full_size == 1);

  auto ln = loom::compile(layer_norm,
                          rows_input{},
                          loom::input<float, extents<256>>{},
                          loom::input<float, extents<256>>{});
  static_assert(plan_of<decltype(ln)>::kernel_count == 1);
  // fullgraph accepts both.
  auto checked = loom::compile(softmax, loom::fullgraph, rows_input{});
  static_assert(decltype(checked)::kernel_count == 1);
}

TEST_CASE("a per-row result joins the pass that reduces the rows", "[plan]") {
  auto lse = loom::compile(
      [](auto x) {
        auto m = loom::max(x, loom::axes<-1>, loom::keepdims);
        return m + loom::log(loom::sum(loom::exp(x - m), loom::axes<-1>, loom::keepdims));
      },
      rows_input{});
  using p = plan_of<decltype(lse)>;
  static_assert(p::kernel_count == 1 && p::step_count == 3);
  rows x(5);
  fill_uniform(x, 1, -50, 50);
  const auto r = lse(x);
  for (std::size_t i = 0; i < 5; ++i) {
    double top = -1e300, total = 0;
    for (std::size_t j = 0; j < 256; ++j) top = std::max(top, double(x(i, j)));
    for (std::size_t j = 0; j < 256; ++j) total += std::exp(double(x(i, j)) - top);
    CHECK(r(i, 0) == Approx(top + std::log(total)).epsilon(1e-6));
  }
}

TEST_CASE("groups end where rows change and say why", "[plan]") {
  // A column sum walks other rows than the element-wise pass that uses it.
  auto columns = loom::compile(
      [](auto x) { return x - loom::sum(x, loom::axes<0>, loom::keepdims); }, rows_input{});
  using cp = plan_of<decltype(columns)>;
  static_assert(cp::kernel_count == 2);
  static_assert(cp::groups[0].end == group_end::strided_reduction);

  // Reductions over the last and over both axes split rows differently.
  auto two = loom::compile(
      [](auto x) { return std::make_tuple(loom::sum(x, loom::axes<1>), loom::sum(x)); },
      loom::input<float, extents<dyn, dyn>>{});
  static_assert(plan_of<decltype(two)>::kernel_count == 2);
  static_assert(plan_of<decltype(two)>::groups[0].end == group_end::other_axes);

  // A value read through a transpose needs every row of it first.
  auto transposed = loom::compile(
      [](auto x) {
        auto centred = x - loom::mean(x, loom::axes<1>, loom::keepdims);
        return loom::transpose(centred) + 1.f;
      },
      loom::input<float, extents<8, 8>>{});
  using tp = plan_of<decltype(transposed)>;
  static_assert(tp::kernel_count == 2);
  static_assert(tp::groups[0].end == group_end::reads_through_view);
  loom::tensor<float, extents<8, 8>> x;
  fill_uniform(x, 2, -1, 1);
  const auto y = transposed(x);
  for (std::size_t i = 0; i < 8; ++i) {
    double m = 0;
    for (std::size_t j = 0; j < 8; ++j) m += x(i, j) / 8.0;
    for (std::size_t j = 0; j < 8; ++j) CHECK(y(j, i) == Approx(x(i, j) - m + 1).margin(1e-6));
  }

  // A matmul starts a group: two layers are two GEMM passes.
  auto mlp =
      loom::compile([](auto x, auto w) { return loom::matmul(loom::relu(loom::matmul(x, w)), w); },
                    loom::input<float, extents<dyn, 16>>{},
                    loom::input<float, extents<16, 16>>{});
  static_assert(plan_of<decltype(mlp)>::kernel_count == 2);
  static_assert(plan_of<decltype(mlp)>::groups[0].end == group_end::matmul);
  static_assert(plan_of<decltype(mlp)>::first_break != plan_of<decltype(mlp)>::npos);
}

TEST_CASE("dynamic extents from different inputs are never assumed equal", "[plan]") {
  // Both inputs have extents [?], but nothing says they have the same length: scaling a by
  // b's total is two passes, one over b and one over a.
  auto m =
      loom::compile([](auto a, auto b) { return a * loom::sum(b, loom::axes<0>, loom::keepdims); },
                    loom::input<float, extents<dyn>>{},
                    loom::input<float, extents<dyn>>{});
  static_assert(plan_of<decltype(m)>::group_count == 2);
  static_assert(plan_of<decltype(m)>::groups[0].end == group_end::other_space);
  loom::tensor<float, extents<dyn>> a(5), b(7);
  fill_uniform(a, 3, -1, 1);
  fill_uniform(b, 4, 0.5, 1);  // a sum without cancellation, so the tolerance is relative
  double total = 0;
  for (float v : b) total += v;
  const auto r = m(a, b);
  REQUIRE(r.size() == 5);
  for (std::size_t i = 0; i < 5; ++i) CHECK(r(i) == Approx(a(i) * total).epsilon(1e-6));
}

TEST_CASE("two slices of one axis share a name where their extents agree for every extent",
          "[plan][views]") {
  using loom::ops::same_slice_extent;
  using spec = loom::ops::slice_spec;
  constexpr auto to_end = loom::ops::slice_end;
  STATIC_REQUIRE(same_slice_extent(spec{1, to_end, 1}, spec{0, -1, 1}));  // x[1:], x[:-1]
  STATIC_REQUIRE(same_slice_extent(spec{0, -1, 2}, spec{1, to_end, 2}));  // x[:-1:2], x[1::2]
  STATIC_REQUIRE(same_slice_extent(spec{-3, to_end, 1}, spec{0, 3, 1}));  // both min(n, 3)
  STATIC_REQUIRE(!same_slice_extent(spec{1, to_end, 1}, spec{2, to_end, 1}));
  STATIC_REQUIRE(!same_slice_extent(spec{0, 5, 1}, spec{0, to_end, 1}));  // equal up to 5
  STATIC_REQUIRE(!same_slice_extent(spec{0, to_end, 2}, spec{0, to_end, 1}));
  STATIC_REQUIRE(!same_slice_extent(spec{5000, to_end, 1}, spec{5000, to_end, 1}));  // too far
  auto m = loom::compile(
      [](auto x) { return loom::slice<0, 1>(x) - loom::slice<0, 0, -1>(x) + loom::slice<0, 2>(x); },
      loom::input<float, extents<dyn, 3>>{});
  using plan = plan_of<decltype(m)>;
  STATIC_REQUIRE(plan::symbolic[1][0] == plan::symbolic[2][0]);
  STATIC_REQUIRE(plan::symbolic[1][0] != plan::symbolic[4][0]);  // x[2:] is one shorter
  STATIC_REQUIRE(plan::symbolic[1][1] == plan::symbolic[0][1]);
}

TEST_CASE("row-wise passes give the same bits on one thread and many", "[plan][threads]") {
  auto sm = loom::compile(softmax, rows_input{});
  auto one = loom::compile(softmax, rows_input{});
  one.set_threads(1);
  rows x(1000);  // 256000 elements: above the threading threshold
  fill_uniform(x, 5, -20, 20);
  LOOM_CHECK_REPORT(loom_test::compare_same(sm(x), one(x), "softmax, default vs one thread"));
  const auto y = sm(x);
  for (std::size_t i = 0; i < 1000; i += 37) {
    double total = 0;
    for (std::size_t j = 0; j < 256; ++j) total += y(i, j);
    CHECK(total == Approx(1).epsilon(1e-5));
  }
}

TEST_CASE("a view of a computed value waits for the whole value", "[plan][views]") {
  // The transpose reads other elements than the one it writes: exp(x) is stored first, by
  // a pass of its own.
  auto m = loom::compile([](auto x) { return loom::transpose(loom::exp(x)); },
                         loom::input<float, extents<dyn, dyn>>{});
  static_assert(plan_of<decltype(m)>::kernel_count == 2);
  // [?, ?] transposed is another shape than [?, ?] (square shapes say reads_through_view).
  static_assert(plan_of<decltype(m)>::groups[0].end == group_end::other_space);
  for (std::size_t rows : {2u, 300u}) {
    loom::tensor<float, extents<dyn, dyn>> x(rows, 3 * rows / 2 + 1);
    fill_uniform(x, 7, -2, 2);
    const auto y = m(x);
    REQUIRE(y.shape() == loom_test::make_shape({x.extent(1), rows}));
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < x.extent(1); ++j)
        REQUIRE(y(j, i) == Approx(std::exp(x(i, j))).epsilon(1e-6));
  }
}

TEST_CASE("each step's arithmetic per element is the sum of its ops' costs", "[plan][cost]") {
  // relu, the multiplication and the addition cost 1 each; exp is a transcendental op.
  auto m = loom::compile([](auto x) { return loom::relu(x) * 2.f + loom::exp(x); },
                         loom::input<float, extents<dyn>>{});
  using p = plan_of<decltype(m)>;
  static_assert(loom::ops::exp::cost >= 10);
  static_assert(p::step_count == 1 && p::ops_per_element[0] == 1 + 1 + 1 + loom::ops::exp::cost);

  // Softmax recomputes x - max and its exp in both later steps: the max costs nothing beyond
  // its fold, the sum x - max and exp, the scaling those and a division.
  auto sm = loom::compile(softmax, rows_input{});
  using sp = plan_of<decltype(sm)>;
  static_assert(sp::ops_per_element[0] == 0);
  static_assert(sp::ops_per_element[1] == 1 + loom::ops::exp::cost);
  static_assert(sp::ops_per_element[2] == 1 + loom::ops::exp::cost + loom::ops::div::cost);

  // An opaque callable costs what it declares, or opaque_default_cost.
  auto o = loom::compile(
      [](auto x) {
        auto cheap = loom::allow_in_graph<declared>{}(x);
        return cheap - loom::allow_in_graph<undeclared>{}(x);
      },
      loom::input<float, extents<dyn>>{});
  static_assert(plan_of<decltype(o)>::ops_per_element[0] == 2 + loom::opaque_default_cost + 1);
  loom::tensor<float, extents<dyn>> x(3);
  fill_uniform(x, 8, -1, 1);
  const auto r = o(x);
  for (std::size_t i = 0; i < 3; ++i) CHECK(r(i) == Approx(x(i) + 1 - x(i) * x(i)));
}
