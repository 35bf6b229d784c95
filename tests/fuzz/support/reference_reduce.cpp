#include <algorithm>
#include <cmath>

#include "reference_common.hpp"

// Reductions: sums and products add their operands' bounds and a rounding term that grows
// with the number and the magnitudes of their terms (loom folds in blocks, in any order).
namespace fz::ref {

using namespace detail;

namespace {

struct folded {
  double value, bound;
};

// Sum of the elements at `at` (values converted to `t`), with its bound.
folded sum_of(dtype t, const tensor& x, const std::vector<std::size_t>& at) {
  if (!is_float(t)) {
    double s = 0;
    for (std::size_t i : at) {
      if (x.bound[i] == unknown) return {0, unknown};
      s = wrap(s + store(t, x.value[i]));
    }
    return {s, 0};
  }
  double s = 0, magnitude = 0, bound = 0;
  bool nan = false, uncertain = false;
  for (std::size_t i : at) {
    const double v = store(t, x.value[i]);
    // A NaN whose class is undetermined (another order may give a number) proves nothing.
    if (x.bound[i] == unknown)
      uncertain = true;
    else if (std::isnan(v))
      nan = true;
    s += v;
    if (std::isfinite(v)) magnitude += std::fabs(v);
    bound += x.bound[i];
  }
  if (nan) return {std::nan(""), 0};
  if (uncertain) return {store(t, s), unknown};
  // Partial sums of finite terms may overflow in one order and not in another.
  if (magnitude >= largest(t) / 4) return {store(t, s), unknown};
  if (!std::isfinite(s)) return {s, 0};
  return {s, bound + sum_rounding(t, at.size(), magnitude)};
}

folded prod_of(dtype t, const tensor& x, const std::vector<std::size_t>& at) {
  if (!is_float(t)) {
    double p = 1;
    for (std::size_t i : at) {
      if (x.bound[i] == unknown) return {0, unknown};
      p = wrap_mul(p, store(t, x.value[i]));
    }
    return {p, 0};
  }
  double p = 1, big = 1, small = 1;
  bool uncertain = false, nan = false, zero = false, infinite = false;
  for (std::size_t i : at) {
    const double v = store(t, x.value[i]);
    if (x.bound[i] == unknown) uncertain = true;
    nan = nan || (std::isnan(v) && x.bound[i] != unknown);
    zero = zero || v == 0;
    infinite = infinite || std::isinf(v);
    p *= v;
    const double m = std::fabs(v);
    if (m > 1) big *= m;
    if (m > 0 && m < 1) small *= m;
  }
  // NaN in any order: a NaN operand, or a zero and an infinity. (An infinity and partial
  // products that underflow to 0 in some orders only give NaN or infinity by the order: the
  // check for underflow below leaves them undetermined.)
  if (nan || (zero && infinite && !uncertain)) return {std::nan(""), 0};
  // Partial products may overflow, or underflow and lose precision, in some order.
  if (uncertain || big >= largest(t) / 4 || (small < smallest_normal(t) * 16 && big > 1))
    return {store(t, p), unknown};
  if (!std::isfinite(p)) return {p, 0};
  // The error each operand's bound causes: its bound times the other factors.
  const std::size_t n = at.size();
  std::vector<double> before(n + 1, 1.0), after(n + 1, 1.0);
  for (std::size_t k = 0; k < n; ++k)
    before[k + 1] = before[k] * std::fabs(store(t, x.value[at[k]]));
  for (std::size_t k = n; k-- > 0;) after[k] = after[k + 1] * std::fabs(store(t, x.value[at[k]]));
  double bound = 0;
  for (std::size_t k = 0; k < n; ++k) bound += x.bound[at[k]] * before[k] * after[k + 1];
  return {p, bound + (n + 1) * eps(t) * std::fabs(p) + n * smallest_subnormal(t)};
}

folded extreme_of(bool is_max, dtype t, const tensor& x, const std::vector<std::size_t>& at) {
  double m = is_max ? -unknown : unknown, bound = 0;
  for (std::size_t i : at) {
    const double v = store(t, x.value[i]);
    if (x.bound[i] == unknown) return {v, unknown};
    if (std::isnan(v)) return {v, 0};
    m = is_max ? std::max(m, v) : std::min(m, v);
    bound = std::max(bound, x.bound[i]);
  }
  // A second element within bounds of the winner: a tie in loom's arithmetic, perhaps.
  std::size_t close = 0;
  for (std::size_t i : at) close += std::fabs(store(t, x.value[i]) - m) <= 2 * bound;
  if (close > 1) note_near_kink();
  return {m, bound};
}

}  // namespace

tensor reduce(
    reduction kind, dtype result, dtype compute, const tensor& x, unsigned mask, bool keepdims) {
  const groups g = group_by(x.shape, mask);
  tensor r = make(result, keepdims ? g.result_shape : drop_axes(g.result_shape, mask));
  // Half values fold in f32, and the result is rounded once.
  const dtype acc = wide(compute);
  for (std::size_t k = 0; k < g.members.size(); ++k) {
    const auto& at = g.members[k];
    folded f{0, 0};
    switch (kind) {
      case reduction::sum:
        f = sum_of(acc, x, at);
        break;
      case reduction::mean:
        if (at.empty()) {  // 0 / 0
          f = {std::nan(""), 0};
          break;
        }
        f = sum_of(acc, x, at);
        f.value = f.value / double(at.size());
        f.bound = f.bound / double(at.size()) + 0.5 * eps(acc) * std::fabs(f.value);
        break;
      case reduction::prod:
        f = prod_of(acc, x, at);
        break;
      case reduction::max:
      case reduction::min:
        if (at.empty()) throw no_value("max or min over an empty axis");
        f = extreme_of(kind == reduction::max, acc, x, at);
        break;
    }
    narrow(result, f.value, f.bound);
    r.value[k] = f.value;
    r.bound[k] = f.bound;
  }
  return r;
}

tensor argmax(const tensor& x, unsigned mask, bool keepdims) {
  const groups g = group_by(x.shape, mask);
  tensor r = make(dtype::i32, keepdims ? g.result_shape : drop_axes(g.result_shape, mask));
  for (std::size_t k = 0; k < g.members.size(); ++k) {
    const auto& at = g.members[k];
    if (at.empty()) throw no_value("argmax over an empty axis");
    std::size_t best = 0;
    bool nan = false;
    for (std::size_t j = 0; j < at.size() && !nan; ++j) {
      const double v = x.value[at[j]];
      if (std::isnan(v)) {
        best = j;
        nan = true;
      } else if (v > x.value[at[best]]) {
        best = j;
      }
    }
    // Undetermined where another element is within rounding of the winner.
    bool known = !any_unknown(x, at);
    if (known && !nan) {
      const double top = x.value[at[best]], top_bound = x.bound[at[best]];
      for (std::size_t j = 0; j < at.size(); ++j)
        if (j != best && x.bound[at[j]] + top_bound > 0 &&
            x.value[at[j]] + x.bound[at[j]] >= top - top_bound)
          known = false;
    }
    // The members of a group are in row-major order: along the one axis, or over everything.
    r.value[k] = double(best);
    r.bound[k] = known ? 0 : unknown;
  }
  return r;
}

}  // namespace fz::ref
