#pragma once

// The attention block of the tests in double precision, written out: scores
// scale * (x Wq)(x Wk)^T over the keys s a row t keeps (keep(t, s)), softmax, times x Wv,
// plus a residual, then each row normalised (layer norm without gamma and beta).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace loom_test {

// Row-major [n, d] results, for x of [n, d] and weights of [d, d].
template <class X, class W, class Keep, class R>
std::vector<double> attention_reference(const X& x,
                                        const W& wq,
                                        const W& wk,
                                        const W& wv,
                                        double scale,
                                        Keep keep,
                                        const R& residual,
                                        double eps) {
  const std::size_t n = x.extent(0), d = x.extent(1);
  auto project = [&](const W& w) {
    std::vector<double> out(n * d);
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t j = 0; j < d; ++j)
        for (std::size_t i = 0; i < d; ++i) out[t * d + j] += double(x(t, i)) * w(i, j);
    return out;
  };
  const auto q = project(wq), k = project(wk), v = project(wv);
  std::vector<double> out(n * d);
  for (std::size_t t = 0; t < n; ++t) {
    std::vector<double> p(n, 0.0), row(d);
    double top = -1e300, total = 0, mean = 0, var = 0;
    for (std::size_t s = 0; s < n; ++s) {
      if (!keep(t, s)) continue;
      for (std::size_t j = 0; j < d; ++j) p[s] += q[t * d + j] * k[s * d + j];
      p[s] *= scale;
      top = std::max(top, p[s]);
    }
    for (std::size_t s = 0; s < n; ++s) total += p[s] = keep(t, s) ? std::exp(p[s] - top) : 0;
    for (std::size_t j = 0; j < d; ++j) {
      row[j] = residual(t, j);
      for (std::size_t s = 0; s < n; ++s) row[j] += p[s] / total * v[s * d + j];
      mean += row[j] / double(d);
    }
    for (double e : row) var += (e - mean) * (e - mean) / double(d);
    for (std::size_t j = 0; j < d; ++j) out[t * d + j] = (row[j] - mean) / std::sqrt(var + eps);
  }
  return out;
}

}  // namespace loom_test
