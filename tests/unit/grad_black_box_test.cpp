// Gradients through whole-tensor allow_in_graph<F> (F::backward), and loom::vjp with a given
// cotangent: against central differences in double precision, or closed forms, on random
// inputs.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <cmath>
#include <cstddef>
#include <string>

#include "../common/finite_differences.hpp"
#include "test_support.hpp"

using loom::dyn;
using loom::extents;
using loom_test::check_gradient;
using loom_test::normal_tensor;

namespace {

// The running sum along the last axis of a matrix: a scan, which loom's ops cannot express.
// Its backward is the running sum of the cotangent taken from the other end. `calls` counts
// backward passes.
struct running_sum {
  using granularity = loom::whole_tensor;
  int* calls = nullptr;

  template <class In, class Out>
  void operator()(In x, Out y) const {
    const std::size_t n = x.extent(1);
    for (std::size_t r = 0; r < x.extent(0); ++r) {
      typename Out::value_type acc = 0;
      for (std::size_t c = 0; c < n; ++c) y(r, c) = acc += x(r, c);
    }
  }
  template <class In, class Out, class GradOut, class GradIn>
  void backward(In, Out, GradOut g, GradIn gx) const {
    if (calls) ++*calls;
    const std::size_t n = g.extent(1);
    for (std::size_t r = 0; r < g.extent(0); ++r) {
      typename GradIn::value_type acc = 0;
      for (std::size_t c = n; c-- > 0;) gx(r, c) = acc += g(r, c);
    }
  }
};

// The dot product of matching rows of two matrices, one value per row.
struct row_dot {
  using granularity = loom::whole_tensor;
  template <class... E>
  using output_extents = extents<dyn>;
  static loom::shape output_shape(const loom::shape& a, const loom::shape&) {
    return loom::shape{1, {a.dims[0]}};
  }
  int* calls = nullptr;

  template <class A, class B, class Out>
  void operator()(A a, B b, Out y) const {
    for (std::size_t r = 0; r < a.extent(0); ++r) {
      y(r) = 0;
      for (std::size_t c = 0; c < a.extent(1); ++c) y(r) += a(r, c) * b(r, c);
    }
  }
  template <class A, class B, class Out, class GradOut, class GradA, class GradB>
  void backward(A a, B b, Out, GradOut g, GradA ga, GradB gb) const {
    if (calls) ++*calls;
    for (std::size_t r = 0; r < a.extent(0); ++r)
      for (std::size_t c = 0; c < a.extent(1); ++c) {
        ga(r, c) = g(r) * b(r, c);
        gb(r, c) = g(r) * a(r, c);
      }
  }
};

// Like running_sum, but marked as having no gradient.
struct frozen_running_sum : running_sum {
  static constexpr bool differentiable = false;
};

const auto scan_loss = [](const auto& x, const auto& w) {
  return loom::sum(loom::square(loom::allow_in_graph<running_sum>{}(loom::tanh(x))) * w);
};

}  // namespace

TEST_CASE("grad through a whole-tensor black box with a backward") {
  auto x = normal_tensor<extents<3, 5>>(1);
  auto w = normal_tensor<extents<3, 5>>(2);
  check_gradient(scan_loss, x, w);
  auto xd = normal_tensor<extents<dyn, 6>>(3, 4);
  auto wd = normal_tensor<extents<6>>(4, 6);
  check_gradient(scan_loss, xd, wd);
}

TEST_CASE("a whole-tensor backward runs once per backward pass") {
  int scans = 0, dots = 0;
  const auto model = [&](const auto& a, const auto& b) {
    const auto s = loom::allow_in_graph<running_sum>{{&scans}}(a);
    return loom::sum(loom::exp(loom::allow_in_graph<row_dot>{{&dots}}(s, b) * 0.1));
  };
  auto a = normal_tensor<extents<dyn, dyn>>(5, 4, 7);
  auto b = normal_tensor<extents<dyn, dyn>>(6, 4, 7);
  const auto grad_a = loom::compile(loom::grad(model), a, b);
  grad_a(a, b);
  CHECK(scans == 1);
  CHECK(dots == 1);  // only a's path: row_dot's backward for its first input
  check_gradient(model, a, b);
}

TEST_CASE("a whole-tensor black box marked differentiable = false passes no gradient") {
  const auto model = [](const auto& x) {
    return loom::sum(loom::allow_in_graph<frozen_running_sum>{}(x)*x);
  };
  auto x = normal_tensor<extents<2, 4>>(7);
  const auto g = loom::grad(model)(x);
  // Only the direct factor x: d/dx sum(s * x) with s held constant is s.
  const auto s = loom::allow_in_graph<running_sum>{}(x);
  LOOM_CHECK_REPORT(loom_test::compare_exact(g, s, "gradient"));
}

TEST_CASE("vjp of a matrix-valued model") {
  // y = tanh(x w); for a cotangent c, x gets (c (1 - y^2)) w^T and w gets x^T (c (1 - y^2)).
  const auto model = [](const auto& x, const auto& w) {
    return loom::tanh(loom::matmul(x, w));
  };
  auto x = normal_tensor<extents<dyn, 5>>(8, 4);
  auto w = normal_tensor<extents<5, 3>>(9);
  auto c = normal_tensor<extents<dyn, 3>>(10, 4);
  const auto vjp = loom::compile(loom::vjp(model, loom::wrt<0, 1>), x, w, c);
  const auto [gx, gw] = vjp(x, w, c);
  REQUIRE(gx.shape() == x.shape());
  REQUIRE(gw.shape() == w.shape());
  auto d = [&](std::size_t r, std::size_t k) {  // c (1 - y^2) at (r, k)
    double y = 0;
    for (std::size_t j = 0; j < 5; ++j) y += x(r, j) * w(j, k);
    y = std::tanh(y);
    return c(r, k) * (1 - y * y);
  };
  const loom_test::tolerance tol{1e-12, 1e-14};
  LOOM_CHECK_REPORT(loom_test::compare_with(
      gx,
      [&](std::size_t i) {
        double s = 0;
        for (std::size_t k = 0; k < 3; ++k) s += d(i / 5, k) * w(i % 5, k);
        return s;
      },
      tol,
      "x's vjp"));
  LOOM_CHECK_REPORT(loom_test::compare_with(
      gw,
      [&](std::size_t i) {
        double s = 0;
        for (std::size_t r = 0; r < 4; ++r) s += x(r, i / 3) * d(r, i % 3);
        return s;
      },
      tol,
      "w's vjp"));
}

TEST_CASE("vjp takes a cotangent of another dtype, and runs on tensors") {
  // y = x * x along a dynamic axis: the vjp is 2 x c, with c cast to the output's dtype.
  auto x = normal_tensor<extents<dyn>>(11, 9);
  loom::tensor<float, extents<dyn>> c(9);
  loom_test::fill_normal(c, 12, 0.0f, 1.0f);
  const auto g = loom::vjp([](const auto& v) { return v * v; })(x, c);
  LOOM_CHECK_REPORT(loom_test::compare_with(
      g,
      [&](std::size_t i) { return 2 * x.data()[i] * double(c.data()[i]); },
      loom_test::tolerance{1e-15, 0},
      "vjp"));
  loom::tensor<float, extents<dyn>> wrong(8);
  wrong.fill(1.f);
  CHECK_THROWS_AS(loom::vjp([](const auto& v) { return v * v; })(x, wrong), loom::shape_error);
}

TEST_CASE("explain lists the forward values a gradient model saves, with their bytes") {
  // The GEMM's result is kept for relu's mask; relu itself and the product with v are
  // recomputed in the backward pass's fused loop.
  const auto g = loom::compile(
      loom::grad(
          [](auto x, auto w, auto v) { return loom::sum(loom::relu(loom::matmul(x, w)) * v); },
          loom::wrt<1>),
      loom::input<float, extents<4, 3>>{},
      loom::input<float, extents<3, 5>>{},
      loom::input<float, extents<5>>{});
  const std::string text = loom::explain(g);
  CHECK_THAT(text,
             Catch::Matchers::Contains("saved for the backward pass: 1 value, 80 bytes\n"
                                       "  %2 f32[4, 5], 80 bytes\n"));
  CHECK_THAT(text, Catch::Matchers::Contains("cotangent_seed"));
  // With a dynamic batch, the size is per row.
  const auto d = loom::compile(
      loom::grad(
          [](auto x, auto w, auto v) { return loom::sum(loom::relu(loom::matmul(x, w)) * v); },
          loom::wrt<1>),
      loom::input<float, extents<dyn, 3>>{},
      loom::input<float, extents<3, 5>>{},
      loom::input<float, extents<5>>{});
  CHECK_THAT(loom::explain(d),
             Catch::Matchers::Contains("saved for the backward pass: 1 value\n"
                                       "  %2 f32[?, 5], 20 bytes per ?\n"));
  // A model that is not a gradient has no such list.
  const auto f =
      loom::compile([](auto x) { return loom::relu(x); }, loom::input<float, extents<4>>{});
  CHECK_THAT(loom::explain(f), !Catch::Matchers::Contains("saved for the backward pass"));
}
