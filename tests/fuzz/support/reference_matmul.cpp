#include <algorithm>
#include <cmath>

#include "reference_common.hpp"

// The matrix product: a sum of products per element, bounded like a sum.
namespace fz::ref {

using namespace detail;

tensor matmul(dtype type, const tensor& a, const tensor& b) {
  const std::size_t ra = a.shape.size(), rb = b.shape.size();
  const std::size_t m = a.shape[ra - 2], k = a.shape[ra - 1], n = b.shape[rb - 1];
  if (b.shape[rb - 2] != k) throw std::logic_error("reference: matmul shapes");
  const std::size_t ba = ra == 3 ? a.shape[0] : 1, bb = rb == 3 ? b.shape[0] : 1;
  const std::size_t batch = ba == 1 ? bb : ba;
  std::vector<std::size_t> shape{m, n};
  if (ra == 3 || rb == 3) shape.insert(shape.begin(), batch);
  tensor r = make(type, shape);
  const dtype acc = wide(type);  // half values are multiplied and added in f32
  for (std::size_t p = 0; p < batch; ++p) {
    const std::size_t oa = (ba == 1 ? 0 : p) * m * k, ob = (bb == 1 ? 0 : p) * k * n;
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        double s = 0, magnitude = 0, bound = 0;
        bool uncertain = false, nan = false, plus_inf = false, minus_inf = false;
        for (std::size_t q = 0; q < k; ++q) {
          const std::size_t ia = oa + i * k + q, ib = ob + q * n + j;
          const double x = a.value[ia], y = b.value[ib], ex = a.bound[ia], ey = b.bound[ib];
          const double xy = x * y;
          if (ex == unknown || ey == unknown)
            uncertain = true;
          else if (std::isnan(xy))
            nan = true;  // a NaN operand, or 0 * inf
          else if (std::isfinite(x) && std::isfinite(y))
            magnitude += std::fabs(xy);  // infinite where the product overflows
          else
            (xy > 0 ? plus_inf : minus_inf) = true;
          s += xy;
          bound += std::fabs(x) * ey + std::fabs(y) * ex + ex * ey;
        }
        // NaN in any order where a product is NaN or infinities of both signs meet; partial
        // sums of finite products may overflow in one order and not in another.
        double value = s, error = 0;
        if (nan || (plus_inf && minus_inf))
          value = std::nan("");
        else if (uncertain || magnitude >= largest(acc) / 4)
          error = unknown;
        else if (std::isfinite(s))
          error = bound + sum_rounding(acc, k, magnitude) + 0.5 * eps(acc) * std::fabs(s);
        narrow(type, value, error);
        const std::size_t at = (p * m + i) * n + j;
        r.value[at] = value;
        r.bound[at] = error;
      }
  }
  return r;
}

}  // namespace fz::ref
