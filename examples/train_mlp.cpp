// Trains a small MLP classifier end to end with loom::value_and_grad and loom::adam: three
// interleaved spirals (points the example generates, 300 per class), 2 -> 64 -> 3 with tanh,
// cross-entropy on one-hot targets, full-batch Adam. Prints the loss curve and the accuracy
// on held-out points, then trains the same model with its hidden layer quantised to steps
// of 1/4 through a straight-through estimator: an allow_in_graph black box whose derivative
// (1) replaces rounding's (0), the usual trick for training quantised networks.
#include <loom/loom.hpp>

#include <cmath>
#include <cstdio>
#include <random>

namespace {

using loom::dyn;
using loom::extents;
constexpr std::size_t classes = 3, hidden = 64, per_class = 300, epochs = 1000;

struct batch;  // the points and their targets are one batch
using points_t = loom::tensor<float, extents<dyn, 2>>;
using targets_t = loom::tensor<float, extents<dyn, classes>>;

// Round to steps of 1/4 on the way forward; pass the gradient through unchanged.
struct straight_through_quantise {
  template <class T>
  T operator()(T x) const {
    return std::round(x * T(4)) / T(4);
  }
  template <class T>
  static T derivative(T) {
    return T(1);
  }
};

// Spiral k of three, with noise; every second point goes to the held-out set.
void spirals(points_t& train_x, targets_t& train_y, points_t& test_x, targets_t& test_y) {
  std::mt19937 gen(7);
  std::normal_distribution<float> noise(0.f, 0.04f);
  train_y.fill(0.f);
  test_y.fill(0.f);
  for (std::size_t k = 0; k < classes; ++k)
    for (std::size_t i = 0; i < per_class; ++i) {
      const float r = float(i) / per_class, angle = 4.f * r + 2.0944f * float(k);
      auto& x = i % 2 ? test_x : train_x;
      auto& y = i % 2 ? test_y : train_y;
      const std::size_t row = k * per_class / 2 + i / 2;
      x(row, 0) = r * std::sin(angle) + noise(gen);
      x(row, 1) = r * std::cos(angle) + noise(gen);
      y(row, k) = 1.f;
    }
}

template <bool Quantised>
auto logits(auto x, auto w1, auto b1, auto w2, auto b2) {
  auto h = loom::tanh(loom::matmul(x, w1) + b1);
  if constexpr (Quantised)
    return loom::matmul(loom::allow_in_graph<straight_through_quantise>{}(h), w2) + b2;
  else
    return loom::matmul(h, w2) + b2;
}

// Trains from a fixed initialisation; returns the held-out accuracy.
template <bool Quantised>
double train(const points_t& x,
             const targets_t& y,
             const points_t& test_x,
             const targets_t& test_y) {
  using rows = loom::dims<batch, loom::unnamed>;
  const auto loss = [](auto x, auto y, auto w1, auto b1, auto w2, auto b2) {
    return loom::cross_entropy(logits<Quantised>(x, w1, b1, w2, b2), y);
  };
  auto step = loom::compile(loom::value_and_grad(loss, loom::wrt<2, 3, 4, 5>),
                            loom::input<float, extents<dyn, 2>, rows>{},
                            loom::input<float, extents<dyn, classes>, rows>{},
                            loom::input<float, extents<2, hidden>>{},
                            loom::input<float, extents<hidden>>{},
                            loom::input<float, extents<hidden, classes>>{},
                            loom::input<float, extents<classes>>{});
  auto predict = loom::compile(
      [](auto x, auto w1, auto b1, auto w2, auto b2) {
        return loom::argmax(logits<Quantised>(x, w1, b1, w2, b2), loom::axes<-1>);
      },
      loom::input<float, extents<dyn, 2>>{},
      loom::input<float, extents<2, hidden>>{},
      loom::input<float, extents<hidden>>{},
      loom::input<float, extents<hidden, classes>>{},
      loom::input<float, extents<classes>>{});

  loom::tensor<float, extents<2, hidden>> w1;
  loom::tensor<float, extents<hidden>> b1;
  loom::tensor<float, extents<hidden, classes>> w2;
  loom::tensor<float, extents<classes>> b2;
  std::mt19937 gen(1);
  std::normal_distribution<float> normal(0.f, 1.f);
  for (auto& v : w1) v = normal(gen) * 2.f;
  for (auto& v : w2) v = normal(gen) / std::sqrt(float(hidden));
  b1.fill(0.f);
  b2.fill(0.f);

  loom::adam optimizer({.lr = 0.02}, w1, b1, w2, b2);
  for (std::size_t epoch = 0; epoch <= epochs; ++epoch) {
    auto [l, g1, gb1, g2, gb2] = step(x, y, w1, b1, w2, b2);
    if (epoch % 100 == 0) std::printf("  epoch %3zu  loss %.4f\n", epoch, double(l()));
    optimizer.step(g1, gb1, g2, gb2);
  }
  const auto predicted = predict(test_x, w1, b1, w2, b2);
  std::size_t right = 0;
  for (std::size_t i = 0; i < predicted.size(); ++i)
    right += test_y(i, std::size_t(predicted(i))) == 1.f;
  return double(right) / double(predicted.size());
}

}  // namespace

int main() {
  const std::size_t n = classes * per_class / 2;
  points_t x(n), test_x(n);
  targets_t y(n), test_y(n);
  spirals(x, y, test_x, test_y);

  std::printf("MLP 2 -> %zu -> %zu on three spirals, %zu training points:\n", hidden, classes, n);
  const double accuracy = train<false>(x, y, test_x, test_y);
  std::printf("held-out accuracy %.3f\n\n", accuracy);
  std::printf("the same, hidden layer quantised to steps of 1/4 (straight-through):\n");
  const double quantised = train<true>(x, y, test_x, test_y);
  std::printf("held-out accuracy %.3f\n", quantised);

  // What this example promises: both models learn the spirals.
  if (accuracy < 0.95 || quantised < 0.93) {
    std::printf("FAILED: accuracy below 0.95 (float) or 0.93 (quantised)\n");
    return 1;
  }
}
