// loom::grad and loom::value_and_grad on whole models: the composites, an MLP with named
// dynamic extents, element-wise allow_in_graph callables with their derivatives,
// stop_gradient, mixed dtypes, and the gradient model's fusion plan. Gradients are checked
// against central differences in double precision (tests/common/finite_differences.hpp) or
// closed forms, on random inputs.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <cmath>
#include <cstddef>
#include <string>

#include "../common/finite_differences.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using loom::dyn;
using loom::extents;
using loom_test::check_gradient;
using loom_test::check_gradient_as;
using loom_test::fill_normal;
using loom_test::fill_uniform;
using loom_test::normal_tensor;

namespace {

// Rows of class probabilities, as cross_entropy takes them.
template <class E, class... D>
loom::tensor<double, E> probabilities(std::uint32_t seed, std::size_t classes, D... dims) {
  loom::tensor<double, E> t(dims...);
  fill_uniform(t, seed, 0.1, 1.0);
  for (std::size_t r = 0; r < t.size() / classes; ++r) {
    double s = 0;
    for (std::size_t c = 0; c < classes; ++c) s += t.data()[r * classes + c];
    for (std::size_t c = 0; c < classes; ++c) t.data()[r * classes + c] /= s;
  }
  return t;
}

struct batch;

// softsign, x / (1 + |x|), with its derivative: what a user's element-wise black box
// declares.
struct softsign {
  template <class T>
  T operator()(T x) const {
    return x / (T(1) + std::abs(x));
  }
  template <class T>
  static T derivative(T x) {
    const T d = T(1) + std::abs(x);
    return T(1) / (d * d);
  }
};

// A two-input black box: x * y + x, with the slope along each input.
struct scaled_shift {
  template <class T>
  T operator()(T x, T y) const {
    return x * y + x;
  }
  template <std::size_t K, class T>
  static T derivative(T x, T y) {
    return K == 0 ? y + T(1) : x;
  }
};

// A black box gradients do not pass: rounding.
struct round_half {
  static constexpr bool differentiable = false;
  template <class T>
  T operator()(T x) const {
    return std::round(x);
  }
};

// N blocks of h + tanh(h w): 2^N paths from the input to the loss.
template <int N, class H, class W>
auto residual_chain(const H& h, const W& w) {
  if constexpr (N == 0)
    return h;
  else
    return residual_chain<N - 1>(h + loom::tanh(h * w), w);
}

}  // namespace

TEST_CASE("grad of a deep residual chain: each cotangent is computed once") {
  auto x = normal_tensor<extents<6>>(22, 6);
  auto w = normal_tensor<extents<6>>(23, 6);
  check_gradient(
      [](const auto& v, const auto& u) { return loom::sum(residual_chain<12>(v, u)) * 0.01; },
      x,
      w);
}

// Rows of one batch: inputs whose first extents are one size (loom::dims), so that their
// gradients need no sum over a broadcast that only the run time would know of.
using rows5 = loom::input<double, extents<dyn, 5>, loom::dims<batch, loom::unnamed>>;
using vec5 = loom::input<double, extents<5>>;

TEST_CASE("grad of the composites against central differences") {
  auto x = normal_tensor<extents<dyn, 5>>(1, 3);
  auto w = normal_tensor<extents<dyn, 5>>(2, 3);
  auto gamma = normal_tensor<extents<5>>(3, 5);
  auto beta = normal_tensor<extents<5>>(4, 5);
  auto target = probabilities<extents<dyn, 5>>(5, 5, 3);
  const auto weighted = [](auto op) {
    return [op](const auto& v, const auto& u) {
      return loom::sum(op(v) * u);
    };
  };
  // clang-format off
  check_gradient_as<rows5, rows5>(weighted([](const auto& v) { return loom::softmax(v); }), x, w);
  check_gradient_as<rows5, rows5>(weighted([](const auto& v) { return loom::log_softmax(v); }), x, w);
  check_gradient_as<rows5, rows5>(weighted([](const auto& v) { return loom::gelu_tanh(v); }), x, w);
  // clang-format on
  check_gradient([](const auto& v) { return loom::sum(square(loom::logsumexp(v))); }, x);
  check_gradient_as<rows5, rows5, vec5, vec5>(
      [](const auto& v, const auto& u, const auto& g, const auto& b) {
        return loom::sum(loom::layer_norm(v, g, b, 1e-5) * u);
      },
      x,
      w,
      gamma,
      beta);
  check_gradient_as<rows5, rows5>(
      [](const auto& p, const auto& t) { return loom::mse_loss(p, t); }, x, w);
  check_gradient_as<rows5, rows5>(
      [](const auto& l, const auto& t) { return loom::cross_entropy(l, t); }, x, target);
}

TEST_CASE("grad of an MLP whose inputs name their batch extent alike") {
  using rows_in = loom::input<double, extents<dyn, 4>, loom::dims<batch, loom::unnamed>>;
  using target_in = loom::input<double, extents<dyn, 3>, loom::dims<batch, loom::unnamed>>;
  const auto mlp =
      [](const auto& x, const auto& w1, const auto& b1, const auto& w2, const auto& t) {
        const auto h = loom::tanh(loom::matmul(x, w1) + b1);
        return loom::cross_entropy(loom::matmul(h, w2), t);
      };
  auto x = normal_tensor<extents<dyn, 4>>(6, 5);
  auto w1 = normal_tensor<extents<4, 6>>(7, 4, 6);
  auto b1 = normal_tensor<extents<6>>(8, 6);
  auto w2 = normal_tensor<extents<6, 3>>(9, 6, 3);
  auto t = probabilities<extents<dyn, 3>>(10, 3, 5);
  check_gradient_as<rows_in,
                    loom::input<double, extents<4, 6>>,
                    loom::input<double, extents<6>>,
                    loom::input<double, extents<6, 3>>,
                    target_in>(mlp, x, w1, b1, w2, t);
}

TEST_CASE("grad of a batched matmul sums over a broadcast batch") {
  auto a = normal_tensor<extents<2, 3, 4>>(11, 2, 3, 4);
  auto b = normal_tensor<extents<4, 2>>(12, 4, 2);
  check_gradient(
      [](const auto& x, const auto& y) { return loom::sum(sin(loom::matmul(x, y))); }, a, b);
}

TEST_CASE("grad through element-wise allow_in_graph callables and stop_gradient") {
  auto x = normal_tensor<extents<4, 3>>(13, 4, 3);
  auto y = normal_tensor<extents<4, 3>>(14, 4, 3);
  check_gradient(
      [](const auto& v, const auto& u) { return loom::sum(loom::allow_in_graph<softsign>{}(v)*u); },
      x,
      y);
  check_gradient(
      [](const auto& v, const auto& u) {
        return loom::sum(square(loom::allow_in_graph<scaled_shift>{}(v, u)));
      },
      x,
      y);
  // Cut paths: the rounded value and the stopped one count as constants.
  const auto [gx, gy] = loom::grad(
      [](const auto& v, const auto& u) {
        return loom::sum(loom::allow_in_graph<round_half>{}(v)*u + loom::stop_gradient(v) * v);
      },
      loom::wrt<0, 1>)(x, y);
  for (std::size_t i = 0; i < x.size(); ++i) {
    CHECK(gx.data()[i] == x.data()[i]);
    CHECK(gy.data()[i] == std::round(x.data()[i]));
  }
}

TEST_CASE("value_and_grad returns the loss, then the gradients, and zeros for unused inputs") {
  auto x = normal_tensor<extents<dyn, 3>>(15, 4);
  auto w = normal_tensor<extents<3>>(16, 3);
  const auto model = [](const auto& v, const auto& u) {
    return loom::sum(v * v) + loom::sum(u) * 0;
  };
  const auto vg = loom::compile(loom::value_and_grad(model, loom::wrt<0, 1>),
                                loom::input<double, extents<dyn, 3>>{},
                                loom::input<double, extents<3>>{});
  const auto [loss, gx, gw] = vg(x, w);
  double want = 0;
  for (std::size_t i = 0; i < x.size(); ++i) want += x.data()[i] * x.data()[i];
  CHECK(*loss.data() == Approx(want).epsilon(1e-14));
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(gx.data()[i] == 2 * x.data()[i]);
  for (std::size_t i = 0; i < w.size(); ++i) CHECK(gw.data()[i] == 0);
  // An input the loss does not read at all.
  const auto g =
      loom::grad([](const auto& v, const auto&) { return loom::sum(v); }, loom::wrt<1>)(x, w);
  for (std::size_t i = 0; i < w.size(); ++i) CHECK(g.data()[i] == 0);
}

TEST_CASE("grad keeps each input's dtype: an f32 input of an f64 loss gets an f32 gradient") {
  loom::tensor<float, extents<5>> x;
  loom::tensor<double, extents<5>> w;
  fill_normal(x, 17, 0.0, 1.0);
  fill_normal(w, 18, 0.0, 1.0);
  const auto g = loom::grad([](const auto& a, const auto& b) { return loom::sum(a * b); })(x, w);
  static_assert(std::is_same_v<typename decltype(g)::value_type, float>);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(g.data()[i] == float(w.data()[i]));
}

TEST_CASE("the gradient model fuses: an element-wise loss differentiates to one pass") {
  const auto gm = loom::compile(
      loom::grad([](const auto& v, const auto& u) { return loom::sum(loom::tanh(v) * u); }),
      loom::fullgraph,
      loom::input<float, extents<dyn, 64>, loom::dims<batch, loom::unnamed>>{},
      loom::input<float, extents<dyn, 64>, loom::dims<batch, loom::unnamed>>{});
  STATIC_REQUIRE(decltype(gm)::kernel_count == 1);
  CHECK_THAT(loom::explain(gm), Contains("tanh"));
}

TEST_CASE("grad refuses values of one type that hold different run-time scalars") {
  // x * 2.f and x * 3.f share a type; an ordinary model runs them op by op, a gradient model
  // cannot.
  const auto model = [](const auto& x) {
    return loom::sum(x * 2.f + x * 3.f);
  };
  CHECK_THROWS_AS(loom::compile(loom::grad(model), loom::input<float, extents<4>>{}),
                  loom::trace_error);
  // Equal scalars are one value, and differentiate.
  const auto same = [](const auto& x) {
    return loom::sum(x * 2.f + x * 2.f);
  };
  loom::tensor<float, extents<4>> x;
  fill_normal(x, 19, 0.0, 1.0);
  const auto g = loom::grad(same)(x);
  for (std::size_t i = 0; i < 4; ++i) CHECK(g.data()[i] == 4.f);
}
