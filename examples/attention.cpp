// An attention-style block: scores = (x Wq)(x Wk)^T / sqrt(d), softmax over keys, times
// x Wv, plus the residual x, then layer norm. The transposed keys are read in place by the
// GEMM, the softmax runs row by row right after the scores' GEMM, and the residual and layer
// norm are the epilogue of the last GEMM. Checked against eager mode and a double-precision
// loop; prints the fusion plan.
#include <loom/loom.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <vector>

#include "attention_block.hpp"

int main() {
  using example::d;
  constexpr std::size_t tokens = 100;
  const auto block = example::attention_block();
  auto compiled = example::compile_attention_block();
  // q, k and v are three GEMMs; the scores' GEMM carries the softmax, the last one the
  // residual and the layer norm.
  static_assert(decltype(compiled)::kernel_count == 5);
  std::cout << loom::explain(compiled) << "\n";

  const example::attention_inputs in(tokens);
  const auto& [x, wq, wk, wv, gamma, beta] = in;
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
