// loom::compile_training_step: the forward pass, the backward pass and an optimizer's update as
// one compiled model, run in place over the optimizer's parameters and state. Checked against
// a double-precision loop of the closed-form gradient and torch.optim.SGD's rule, and against
// the two models it replaces (value_and_grad, then the optimizer's step) on an MLP with Adam.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "test_support.hpp"

using loom::dyn;
using loom::extents;
using loom_test::fill_normal;

namespace {

// Least squares: mean over the batch and outputs of (x w + b - y)^2.
const auto least_squares = [](const auto& x, const auto& y, const auto& w, const auto& b) {
  return loom::mean(loom::square(loom::matmul(x, w) + b - y));
};

// Its gradients in closed form, and SGD with momentum, in double: w and b after `steps` steps.
struct least_squares_reference {
  std::size_t batch, in, out;
  std::vector<double> x, y, w, b, vw, vb;

  void step(double lr, double momentum) {
    std::vector<double> gw(w.size()), gb(b.size());
    const double scale = 2.0 / double(batch * out);
    for (std::size_t r = 0; r < batch; ++r)
      for (std::size_t c = 0; c < out; ++c) {
        double z = b[c] - y[r * out + c];
        for (std::size_t k = 0; k < in; ++k) z += x[r * in + k] * w[k * out + c];
        gb[c] += scale * z;
        for (std::size_t k = 0; k < in; ++k) gw[k * out + c] += scale * z * x[r * in + k];
      }
    for (std::size_t i = 0; i < w.size(); ++i) w[i] -= lr * (vw[i] = momentum * vw[i] + gw[i]);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] -= lr * (vb[i] = momentum * vb[i] + gb[i]);
  }
};

template <class T>
std::vector<double> as_doubles(const T& t) {
  return std::vector<double>(t.begin(), t.end());
}

}  // namespace

TEST_CASE("a training step takes the gradient and the update in one model") {
  constexpr std::size_t batch = 7;
  loom::tensor<double, extents<batch, 5>> x;
  loom::tensor<double, extents<batch, 3>> y;
  loom::tensor<double, extents<5, 3>> w;
  loom::tensor<double, extents<3>> b;
  fill_normal(x, 1, 0.0, 1.0);
  fill_normal(y, 2, 0.0, 1.0);
  fill_normal(w, 3, 0.0, 1.0);
  fill_normal(b, 4, 0.0, 1.0);
  least_squares_reference want{batch,
                               5,
                               3,
                               as_doubles(x),
                               as_doubles(y),
                               as_doubles(w),
                               as_doubles(b),
                               std::vector<double>(15),
                               std::vector<double>(3)};

  const double lr = 0.05, momentum = 0.9;
  loom::sgd opt({.lr = lr, .momentum = momentum}, w, b);
  auto train = loom::compile_training_step(least_squares, opt, x, y);
  for (int s = 0; s < 3; ++s) {
    const double before = [&] {  // the loss before this step's update, in double
      double sum = 0;
      for (std::size_t r = 0; r < batch; ++r)
        for (std::size_t c = 0; c < 3; ++c) {
          double z = want.b[c] - want.y[r * 3 + c];
          for (std::size_t k = 0; k < 5; ++k) z += want.x[r * 5 + k] * want.w[k * 3 + c];
          sum += z * z;
        }
      return sum / double(batch * 3);
    }();
    const auto loss = train(x, y);
    CHECK(*loss.data() == Approx(before).epsilon(1e-12));
    want.step(lr, momentum);
  }
  CHECK(opt.steps() == 3);
  // Three steps in double: the rounding of a few sums.
  LOOM_CHECK_REPORT(loom_test::compare_with(
      w, [&](std::size_t i) { return want.w[i]; }, {1e-12, 1e-12}, "w"));
  LOOM_CHECK_REPORT(loom_test::compare_with(
      b, [&](std::size_t i) { return want.b[i]; }, {1e-12, 1e-12}, "b"));
}

namespace {

const auto mlp_loss = [](const auto& x,
                         const auto& classes,
                         const auto& w1,
                         const auto& b1,
                         const auto& w2,
                         const auto& b2) {
  const auto hidden = loom::relu(loom::matmul(x, w1) + b1);
  return loom::cross_entropy(loom::matmul(hidden, w2) + b2, classes);
};

struct mlp {
  loom::tensor<float, extents<6, 16>> w1;
  loom::tensor<float, extents<16>> b1;
  loom::tensor<float, extents<16, 4>> w2;
  loom::tensor<float, extents<4>> b2;
  mlp() {
    fill_normal(w1, 11, 0.0, 0.5);
    fill_normal(b1, 12, 0.0, 0.1);
    fill_normal(w2, 13, 0.0, 0.5);
    fill_normal(b2, 14, 0.0, 0.1);
  }
};

}  // namespace

TEST_CASE("a training step of an MLP with Adam matches value_and_grad and then adam.step") {
  const std::size_t batch = 9;
  loom::tensor<float, extents<dyn, 6>> x(batch);
  fill_normal(x, 10, 0.0, 1.0);
  loom::tensor<std::int32_t, extents<dyn>> classes(batch);
  for (std::size_t r = 0; r < batch; ++r) classes.data()[r] = std::int32_t((r * 7) % 4);
  const loom::adam_options options{.lr = 0.01, .beta1 = 0.8, .beta2 = 0.95};

  mlp fused, apart;
  loom::adam fused_opt(options, fused.w1, fused.b1, fused.w2, fused.b2);
  auto train = loom::compile_training_step(mlp_loss, fused_opt, x, classes);
  loom::adam apart_opt(options, apart.w1, apart.b1, apart.w2, apart.b2);
  auto gradients = loom::compile(loom::value_and_grad(mlp_loss, loom::wrt<2, 3, 4, 5>),
                                 x,
                                 classes,
                                 apart.w1,
                                 apart.b1,
                                 apart.w2,
                                 apart.b2);
  for (int s = 0; s < 4; ++s) {
    const auto loss = train(x, classes);
    const auto [want_loss, g1, gb1, g2, gb2] =
        gradients(x, classes, apart.w1, apart.b1, apart.w2, apart.b2);
    apart_opt.step(g1, gb1, g2, gb2);
    CHECK(*loss.data() == Approx(*want_loss.data()).epsilon(1e-6));
  }
  // The same f32 operations, fused differently: equal up to a few roundings.
  const auto same = [](const auto& got, const auto& want, const char* what) {
    LOOM_CHECK_REPORT(loom_test::compare_with(
        got, [&](std::size_t i) { return double(want.data()[i]); }, {1e-6, 1e-6}, what));
  };
  same(fused.w1, apart.w1, "w1");
  same(fused.b1, apart.b1, "b1");
  same(fused.w2, apart.w2, "w2");
  same(fused.b2, apart.b2, "b2");
  // Where an update fits a pass that computes its gradient (here the first weight's, in its
  // GEMM's epilogue), it runs there: fewer passes than the two models, which make one per
  // parameter shape after the gradients' own.
  using step_model = std::remove_cvref_t<decltype(train.model())>;
  static_assert(step_model::kernel_count < decltype(gradients)::kernel_count + 4);
}

TEST_CASE("a training step refuses data of the wrong shape and changes nothing") {
  loom::tensor<float, extents<dyn, 6>> x(5);
  fill_normal(x, 20, 0.0, 1.0);
  loom::tensor<std::int32_t, extents<dyn>> classes(4);  // one short
  for (std::size_t r = 0; r < 4; ++r) classes.data()[r] = std::int32_t(r % 4);
  mlp p;
  const auto before = as_doubles(p.w1);
  loom::sgd opt({.lr = 0.1}, p.w1, p.b1, p.w2, p.b2);
  auto train = loom::compile_training_step(mlp_loss, opt, x, classes);
  CHECK_THROWS_AS(train(x, classes), loom::shape_error);
  CHECK(opt.steps() == 0);
  CHECK(as_doubles(p.w1) == before);
}
