// An attention-style block: scores = (x Wq)(x Wk)^T / sqrt(d), softmax over keys, times
// x Wv, plus the residual x, then layer norm. The transposed keys are read in place by the
// GEMM, the softmax runs row by row right after the scores' GEMM, and the residual and layer
// norm are the epilogue of the last GEMM. Checked against eager mode and a double-precision
// loop; prints the fusion plan.
#include <loom/loom.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <vector>

int main() {
  using loom::dyn;
  using loom::extents;
  constexpr std::size_t d = 32, tokens = 100;
  const float scale = 1 / std::sqrt(float(d));

  auto block = [scale](auto x, auto wq, auto wk, auto wv, auto gamma, auto beta) {
    auto q = loom::matmul(x, wq);
    auto k = loom::matmul(x, wk);
    auto v = loom::matmul(x, wv);
    // The scale is a run-time float: softmax reads the scores several times, and those
    // copies are one node, as with a loom::lit (the guide's "Run-time scalars and reuse").
    auto p = loom::softmax(loom::matmul(q, loom::transpose(k)) * scale);
    return loom::layer_norm(loom::matmul(p, v) + x, gamma, beta, 1e-5);
  };

  using weights = loom::input<float, extents<d, d>>;
  using vector = loom::input<float, extents<d>>;
  auto compiled = loom::compile(block,
                                loom::input<float, extents<dyn, d>>{},
                                weights{},
                                weights{},
                                weights{},
                                vector{},
                                vector{});
  // q, k and v are three GEMMs; the scores' GEMM carries the softmax, the last one the
  // residual and the layer norm.
  static_assert(decltype(compiled)::kernel_count == 5);
  std::cout << loom::explain(compiled) << "\n";

  std::mt19937 gen(11);
  std::normal_distribution<float> normal(0.f, 1.f);
  auto fill = [&](auto& t, float scale, float shift = 0) {
    for (auto& e : t) e = normal(gen) * scale + shift;
  };
  loom::tensor<float, extents<dyn, d>> x(tokens);
  loom::tensor<float, extents<d, d>> wq, wk, wv;
  loom::tensor<float, extents<d>> gamma, beta;
  fill(x, 1.f);
  for (auto* w : {&wq, &wk, &wv}) fill(*w, 1.f / std::sqrt(float(d)));
  fill(gamma, 0.1f, 1.f);
  fill(beta, 0.1f);

  const auto fused = compiled(x, wq, wk, wv, gamma, beta);
  const auto eager = block(x, wq, wk, wv, gamma, beta);

  // The same block in double precision, written out.
  auto project = [&](const auto& w) {
    std::vector<double> out(tokens * d);
    for (std::size_t t = 0; t < tokens; ++t)
      for (std::size_t j = 0; j < d; ++j)
        for (std::size_t i = 0; i < d; ++i) out[t * d + j] += double(x(t, i)) * w(i, j);
    return out;
  };
  const auto q = project(wq), k = project(wk), v = project(wv);
  double worst_reference = 0, worst_eager = 0;
  for (std::size_t t = 0; t < tokens; ++t) {
    std::vector<double> p(tokens);
    double top = -1e300, total = 0;
    for (std::size_t s = 0; s < tokens; ++s) {
      for (std::size_t j = 0; j < d; ++j) p[s] += q[t * d + j] * k[s * d + j];
      p[s] /= std::sqrt(double(d));
      top = std::max(top, p[s]);
    }
    for (double& e : p) total += e = std::exp(e - top);
    double row[d], mean = 0, var = 0;
    for (std::size_t j = 0; j < d; ++j) {
      row[j] = x(t, j);
      for (std::size_t s = 0; s < tokens; ++s) row[j] += p[s] / total * v[s * d + j];
      mean += row[j] / d;
    }
    for (double r : row) var += (r - mean) * (r - mean) / d;
    for (std::size_t j = 0; j < d; ++j) {
      const double want = (row[j] - mean) / std::sqrt(var + 1e-5) * gamma(j) + beta(j);
      worst_reference = std::max(worst_reference, std::abs(fused(t, j) - want));
      worst_eager = std::max(worst_eager, std::abs(double(fused(t, j)) - eager(t, j)));
    }
  }
  std::printf("%zu tokens: max |fused - eager| = %.3g, max |fused - double reference| = %.3g\n",
              tokens,
              worst_eager,
              worst_reference);
  return worst_eager < 1e-4 && worst_reference < 1e-4 ? 0 : 1;
}
