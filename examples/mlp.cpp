// A two-layer MLP's forward pass, relu(x W1 + b1) W2 + b2 then softmax over classes: each
// GEMM runs through Eigen with its bias, activation and softmax as the epilogue over rows of
// the product still in cache. Checked against eager mode and a double-precision loop;
// prints the fusion plan.
#include <loom/loom.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>

int main() {
  using loom::dyn;
  using loom::extents;
  constexpr std::size_t in = 64, hidden = 128, classes = 10, batch = 256;

  auto mlp = [](auto x, auto w1, auto b1, auto w2, auto b2) {
    auto h = loom::relu(loom::matmul(x, w1) + b1);
    return loom::softmax(loom::matmul(h, w2) + b2);
  };

  auto compiled = loom::compile(mlp,
                                loom::input<float, extents<dyn, in>>{},
                                loom::input<float, extents<in, hidden>>{},
                                loom::input<float, extents<hidden>>{},
                                loom::input<float, extents<hidden, classes>>{},
                                loom::input<float, extents<classes>>{});
  // Two GEMMs, each with its epilogue fused: two passes.
  static_assert(decltype(compiled)::kernel_count == 2);
  std::cout << loom::explain(compiled) << "\n";

  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.f, 1.f);
  auto fill = [&](auto& t, float scale) {
    for (auto& v : t) v = normal(gen) * scale;
  };
  loom::tensor<float, extents<dyn, in>> x(batch);
  loom::tensor<float, extents<in, hidden>> w1;
  loom::tensor<float, extents<hidden>> b1;
  loom::tensor<float, extents<hidden, classes>> w2;
  loom::tensor<float, extents<classes>> b2;
  fill(x, 1.f);
  fill(w1, 1.f / std::sqrt(float(in)));
  fill(b1, 0.1f);
  fill(w2, 1.f / std::sqrt(float(hidden)));
  fill(b2, 0.1f);

  const auto fused = compiled(x, w1, b1, w2, b2);
  const auto eager = mlp(x, w1, b1, w2, b2);

  double worst_eager = 0, worst_reference = 0;
  for (std::size_t r = 0; r < batch; ++r) {
    double h[hidden], logits[classes], top = -1e300, total = 0;
    for (std::size_t j = 0; j < hidden; ++j) {
      double s = b1(j);
      for (std::size_t k = 0; k < in; ++k) s += double(x(r, k)) * w1(k, j);
      h[j] = s > 0 ? s : 0;
    }
    for (std::size_t c = 0; c < classes; ++c) {
      double s = b2(c);
      for (std::size_t j = 0; j < hidden; ++j) s += h[j] * w2(j, c);
      logits[c] = s;
      top = std::max(top, s);
    }
    for (double& l : logits) total += l = std::exp(l - top);
    for (std::size_t c = 0; c < classes; ++c) {
      worst_reference = std::max(worst_reference, std::abs(fused(r, c) - logits[c] / total));
      worst_eager = std::max(worst_eager, std::abs(double(fused(r, c)) - eager(r, c)));
    }
  }
  std::printf("batch %zu: max |fused - eager| = %.3g, max |fused - double reference| = %.3g\n",
              batch,
              worst_eager,
              worst_reference);
  return worst_eager < 1e-5 && worst_reference < 1e-5 ? 0 : 1;
}
