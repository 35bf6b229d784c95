// loom::grad through each op: element-wise ops with broadcasting, where and comparisons,
// reductions, views and matmul, each against central differences of the compiled model in
// double precision (tests/common/finite_differences.hpp), on random inputs.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "../common/finite_differences.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using loom::dyn;
using loom::extents;
using loom_test::check_gradient;
using loom_test::fill_normal;
using loom_test::fill_uniform;
using loom_test::normal_tensor;

namespace {

template <class E, class... D>
loom::tensor<double, E> positive(std::uint32_t seed, D... dims) {
  loom::tensor<double, E> t(dims...);
  fill_uniform(t, seed, 0.5, 2.0);
  return t;
}

using mat = loom::tensor<double, extents<dyn, dyn>>;
using rows3 = extents<dyn, 3>;

// Each unary op weighted by a second input, broadcast along the rows.
const auto weighted = [](auto op) {
  return [op](const auto& x, const auto& w) {
    return loom::sum(op(x) * w);
  };
};

// An element-wise callable without a derivative.
struct unslopped {
  template <class T>
  T operator()(T x) const {
    return x;
  }
};

}  // namespace

TEST_CASE("grad of unary ops on any reals") {
  auto x = normal_tensor<rows3>(1, 4);
  auto w = normal_tensor<extents<3>>(2, 3);
  // clang-format off
  check_gradient(weighted([](const auto& v) { return loom::neg(v); }), x, w);
  check_gradient(weighted([](const auto& v) { return loom::abs(v); }), x, w);
  check_gradient(weighted([](const auto& v) { return loom::square(v); }), x, w);
  check_gradient(weighted([](const auto& v) { return loom::relu(v); }), x, w);
  check_gradient(weighted([](const auto& v) { return loom::exp(v); }), x, w);
  check_gradient(weighted([](const auto& v) { return loom::sin(v); }), x, w);
  check_gradient(weighted([](const auto& v) { return loom::cos(v); }), x, w);
  check_gradient(weighted([](const auto& v) { return loom::tanh(v); }), x, w);
  check_gradient(weighted([](const auto& v) { return loom::sigmoid(v); }), x, w);
  check_gradient(weighted([](const auto& v) { return loom::gelu(v); }), x, w);
  // clang-format on
}

TEST_CASE("grad of unary ops on positive reals") {
  auto x = positive<rows3>(3, 4);
  auto w = normal_tensor<extents<3>>(4, 3);
  check_gradient(weighted([](const auto& v) { return loom::log(v); }), x, w);
  check_gradient(weighted([](const auto& v) { return loom::sqrt(v); }), x, w);
  check_gradient(weighted([](const auto& v) { return loom::rsqrt(v); }), x, w);
}

TEST_CASE("grad of binary ops sums over the broadcast axes") {
  // [?, 3] against [3], [?, 1] against [1, 3], and a rank-0 input.
  auto a = normal_tensor<rows3>(5, 4);
  auto b = normal_tensor<extents<3>>(6, 3);
  auto col = normal_tensor<extents<dyn, 1>>(7, 4);
  auto row = normal_tensor<extents<1, 3>>(8, 1, 3);
  auto s = normal_tensor<extents<>>(9);
  check_gradient([](const auto& x, const auto& y) { return loom::sum(square(x + y)); }, a, b);
  check_gradient([](const auto& x, const auto& y) { return loom::sum(square(x - y)); }, col, row);
  check_gradient([](const auto& x, const auto& y) { return loom::sum(sin(x * y)); }, a, s);
  check_gradient([](const auto& x, const auto& y) { return loom::sum(x / (y * y + 1)); }, col, b);
  auto base = positive<rows3>(10, 4);
  check_gradient([](const auto& x, const auto& y) { return loom::sum(loom::pow(x, y)); }, base, b);
  check_gradient(
      [](const auto& x, const auto& y) { return loom::sum(loom::maximum(x, y) * y); }, a, b);
  check_gradient(
      [](const auto& x, const auto& y) { return loom::sum(loom::minimum(x, y) * x); }, a, row);
}

TEST_CASE("grad of where and comparisons: no gradient reaches the condition") {
  auto a = normal_tensor<extents<4, 3>>(11, 4, 3);
  auto b = normal_tensor<extents<4, 3>>(12, 4, 3);
  check_gradient(
      [](const auto& x, const auto& y) { return loom::sum(loom::where(x > y, x * y, x - y)); },
      a,
      b);
}

TEST_CASE("grad of a value used twice accumulates both uses") {
  auto a = normal_tensor<rows3>(13, 4);
  check_gradient([](const auto& x) { return loom::sum(x * x + loom::exp(x) * x); }, a);
  // The same tensor as two inputs: each input gets its own part.
  auto c = normal_tensor<extents<4, 3>>(21, 4, 3);
  auto g = loom::grad([](const auto& x, const auto& y) { return loom::sum(x * y); },
                      loom::wrt<0, 1>)(c, c);
  for (std::size_t i = 0; i < c.size(); ++i) {
    CHECK(std::get<0>(g).data()[i] == c.data()[i]);
    CHECK(std::get<1>(g).data()[i] == c.data()[i]);
  }
}

TEST_CASE("grad of ties in maximum and minimum splits evenly") {
  loom::tensor<double, extents<4>> a(4), b(4);
  const double av[] = {0, 1, 2, 3}, bv[] = {1.5, 1, 1, 1.5};
  std::copy(av, av + 4, a.data());
  std::copy(bv, bv + 4, b.data());
  const auto [ga, gb] =
      loom::grad([](const auto& x, const auto& y) { return loom::sum(loom::maximum(x, y)); },
                 loom::wrt<0, 1>)(a, b);
  const double want_a[] = {0, 0.5, 1, 1}, want_b[] = {1, 0.5, 0, 0};
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(ga.data()[i] == want_a[i]);
    CHECK(gb.data()[i] == want_b[i]);
  }
}

TEST_CASE("grad of reductions over axes, with and without keepdims") {
  auto x = normal_tensor<extents<dyn, 3, dyn>>(14, 2, 3, 4);
  auto w = normal_tensor<extents<3>>(15, 3);
  check_gradient(
      [](const auto& v, const auto& u) { return loom::sum(loom::sum(v, loom::axes<2>) * u); },
      x,
      w);
  check_gradient(
      [](const auto& v) {
        return loom::sum(square(loom::mean(v, loom::axes<0, 2>, loom::keepdims)));
      },
      x);
  check_gradient([](const auto& v) { return loom::sum(sin(loom::mean(v, loom::axes<1>))); }, x);
  check_gradient([](const auto& v) { return loom::sum(loom::max(v, loom::axes<1>)); }, x);
  check_gradient([](const auto& v) { return loom::sum(exp(loom::min(v, loom::axes<-1>))); }, x);
  check_gradient([](const auto& v) { return loom::sum(loom::prod(v, loom::axes<1>)); }, x);
  check_gradient([](const auto& v) { return loom::mean(v); }, x);
}

TEST_CASE("grad of max with ties and of prod with zeros, against closed forms") {
  loom::tensor<double, extents<2, 3>> x(2, 3);
  const double values[] = {2, 5, 5, 0, 3, 0};
  std::copy(values, values + 6, x.data());
  const auto gmax =
      loom::grad([](const auto& v) { return loom::sum(loom::max(v, loom::axes<1>)); })(x);
  const double want_max[] = {0, 0.5, 0.5, 0, 1, 0};
  for (std::size_t i = 0; i < 6; ++i) CHECK(gmax.data()[i] == want_max[i]);
  // Row 0 has no zero (y / x); row 1 two zeros (all 0). One zero: the product of the rest.
  x.data()[5] = 4;
  const auto gprod =
      loom::grad([](const auto& v) { return loom::sum(loom::prod(v, loom::axes<1>)); })(x);
  const double want_prod[] = {25, 10, 10, 12, 0, 0};
  for (std::size_t i = 0; i < 6; ++i) CHECK(gprod.data()[i] == want_prod[i]);
}

TEST_CASE("grad of views: reshape, permute, transpose, broadcast_to, expand_dims") {
  auto x = normal_tensor<extents<dyn, 6>>(16, 2);
  auto w = normal_tensor<extents<2>>(17, 2);
  check_gradient(
      [](const auto& v, const auto& u) {
        return loom::sum(loom::permute<2, 0, 1>(loom::reshape<extents<dyn, 2, 3>>(v)) * u);
      },
      x,
      w);
  auto m = normal_tensor<extents<2, 3>>(18, 2, 3);
  auto b = normal_tensor<extents<3>>(19, 3);
  check_gradient(
      [](const auto& v, const auto& u) {
        return loom::sum(sin(loom::transpose(v)) *
                         loom::transpose(loom::broadcast_to<extents<2, 3>>(u)));
      },
      m,
      b);
  // Two dyn extents: the gradient is a copy to the operand's shape, not a view.
  auto d = normal_tensor<extents<dyn, dyn>>(26, 3, 5);
  check_gradient(
      [](const auto& v) { return loom::sum(square(loom::reshape<extents<dyn>>(sin(v)))); }, d);
  auto c = normal_tensor<extents<2, 4, 3>>(20, 2, 4, 3);
  check_gradient(
      [](const auto& v, const auto& u) { return loom::sum(square(loom::expand_dims<1>(v)) * u); },
      m,
      c);
}

// slice's gradient puts each cotangent back where its element was read, zero elsewhere: on a
// static axis (only the cotangent is read), on a dyn one (the operand gives the extent),
// with steps, negative and clamped bounds, on a middle axis, from two overlapping slices, and
// from neighbouring slices of a dyn axis.
TEST_CASE("grad of slice: the cotangent back in place, zero elsewhere") {
  auto x = normal_tensor<extents<dyn, 6>>(21, 3);
  auto w = normal_tensor<extents<4>>(22, 4);
  check_gradient(
      [](const auto& v, const auto& u) { return loom::sum(sin(loom::slice<1, 1, 5>(v)) * u); },
      x,
      w);
  auto w3 = normal_tensor<extents<3>>(23, 3);
  check_gradient(
      [](const auto& v, const auto& u) {
        return loom::sum(square(loom::slice<1, -5, loom::ops::slice_end, 2>(v)) * u);
      },
      x,
      w3);
  check_gradient([](const auto& v) { return loom::sum(exp(loom::slice<1, 2, 100>(v))); }, x);
  check_gradient(
      [](const auto& v) { return loom::sum(loom::slice<1, 0, 4>(v) * loom::slice<1, 2, 6>(v)); },
      x);
  auto rows = normal_tensor<extents<dyn, 3>>(24, 5);
  check_gradient([](const auto& v,
                    const auto& u) { return loom::sum(square(loom::slice<0, 1, -1>(exp(v))) * u); },
                 rows,
                 w3);
  const auto grad_x = loom::compile(
      loom::grad([](const auto& v) { return loom::sum(exp(loom::slice<1, 2, 100>(v))); }), x);
  CHECK_THAT(loom::explain(grad_x),
             Contains("opaque_call<slice_gradient>[axis=1, start=2, stop=100, step=1]"));
  // Neighbours along a dyn axis: x[1:] and x[:-1] are known to have one extent, as are
  // x[:-1:2] and x[1::2].
  check_gradient(
      [](const auto& v) {
        return loom::sum(square(loom::slice<0, 1>(v) - loom::slice<0, 0, -1>(v))) +
               loom::sum(loom::slice<0, 0, -1, 2>(v) *
                         loom::slice<0, 1, loom::ops::slice_end, 2>(v));
      },
      rows);
  auto cube = normal_tensor<extents<2, 5, 3>>(25, 2, 5, 3);
  check_gradient([](const auto& v) { return loom::sum(sin(loom::slice<1, 1, 5, 3>(v))); }, cube);
}

TEST_CASE("grad edge cases: a float condition, pow at 0^0, inputs outside wrt") {
  loom::tensor<double, extents<4>> x;
  const double xv[] = {0, 1.5, -2, 0};
  std::copy(xv, xv + 4, x.data());
  // where reads a float condition as a bool: no gradient reaches it.
  const auto gw = loom::grad([](const auto& v) { return loom::sum(loom::where(v, v * 2, v)); })(x);
  for (std::size_t i = 0; i < 4; ++i) CHECK(gw.data()[i] == (xv[i] != 0 ? 2 : 1));
  // pow(0, 0): both slopes 0, as torch, not 0 * inf.
  loom::tensor<double, extents<4>> e;
  e.fill(0);
  const auto [ga, gb] =
      loom::grad([](const auto& a, const auto& b) { return loom::sum(loom::pow(a, b)); },
                 loom::wrt<0, 1>)(x, e);
  CHECK(ga.data()[0] == 0);
  CHECK(gb.data()[0] == 0);
  CHECK(gb.data()[1] == Approx(std::log(1.5)).epsilon(1e-15));
  // A path to an input outside wrt is not differentiated: `unslopped` declares no
  // derivative, yet the gradient of w compiles.
  loom::tensor<double, extents<8>> d;
  for (std::size_t i = 0; i < 8; ++i) d.data()[i] = double(i) * 0.5;
  const auto gw2 = loom::grad(
      [](const auto& w, const auto& data) {
        return loom::sum(w * loom::allow_in_graph<unslopped>{}(loom::slice<0, 1, 5>(data)));
      },
      loom::wrt<0>)(x, d);
  for (std::size_t i = 0; i < 4; ++i) CHECK(gw2.data()[i] == d.data()[i + 1]);
}
