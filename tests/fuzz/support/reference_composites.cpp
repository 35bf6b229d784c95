#include <algorithm>
#include <cmath>
#include <utility>

#include "reference_common.hpp"

// Composites as the guide defines them, with the first-order error of their formula as bound;
// of half values, in f32 and rounded once (reference_common.hpp, narrowed).
namespace fz::ref {

using namespace detail;

namespace {

// The largest finite-or-infinite value of a row with infinities replaced by 0, as loom's
// composites shift rows (a NaN stays).
double finite_max(const tensor& x, const std::vector<std::size_t>& at) {
  double m = -unknown;
  for (std::size_t i : at) {
    if (std::isnan(x.value[i])) return x.value[i];
    m = std::max(m, x.value[i]);
  }
  return std::isinf(m) ? 0.0 : m;
}

// A row's log(sum(exp(x - shift))) and the weighted spread that its rounding depends on.
struct row_sums {
  double shift, log_sum, spread;
};

row_sums row_log_sum(const tensor& x, const std::vector<std::size_t>& at) {
  row_sums r{finite_max(x, at), 0, 0};
  double sum = 0, weighted = 0;
  for (std::size_t i : at) {
    const double e = std::exp(x.value[i] - r.shift);
    sum += e;
    // exp(-inf) is 0: an entry of -inf weighs nothing (0 * inf would be NaN).
    if (e > 0 && std::isfinite(e)) weighted += e * std::fabs(x.value[i] - r.shift);
  }
  r.log_sum = std::log(sum);
  r.spread = sum > 0 && std::isfinite(sum) ? weighted / sum : 0;
  return r;
}

// What softmax and log_softmax know of a row, and the walk over rows they share.
struct row {
  row_sums sums;
  double bound;  // the largest bound of the row's elements
  bool uncertain;
  std::size_t size;
};

template <class Element>
tensor row_wise(const tensor& x, unsigned mask, Element element) {
  tensor r = make(x.type, x.shape);
  for (const auto& at : group_by(x.shape, mask).members) {
    if (at.empty()) continue;
    const row w{row_log_sum(x, at), row_bound(x, at), any_unknown(x, at), at.size()};
    for (std::size_t i : at) {
      const auto [value, bound] = element(w, i);
      r.value[i] = store(x.type, value);
      r.bound[i] = w.uncertain ? unknown : std::isfinite(value) ? bound : 0;
    }
  }
  return r;
}

}  // namespace

tensor softmax(const tensor& x, unsigned mask) {
  if (is_half(x.type)) return narrowed(x.type, softmax(widened(x), mask));
  const double u = eps(x.type);
  return row_wise(x, mask, [&](const row& w, std::size_t i) {
    const double shifted = x.value[i] - w.sums.shift, sum = std::exp(w.sums.log_sum);
    // The guide: NaN at +inf entries of a row holding +inf, 0 elsewhere in it; a row of
    // -inf is 0 / 0.
    double p = std::exp(shifted) / sum;
    if (std::isinf(sum) && !std::isinf(x.value[i]) && !std::isnan(x.value[i])) p = 0;
    const double rel = x.bound[i] + w.bound +
                       u * (std::fabs(shifted) + w.sums.spread + 6 + 2 * std::sqrt(double(w.size)));
    // An entry of -inf is exactly 0, whatever its (infinite) shifted value says of rounding.
    return std::pair{p, (p == 0 ? 0 : rel * std::fabs(p)) + smallest_normal(x.type)};
  });
}

tensor log_softmax(const tensor& x, unsigned mask) {
  if (is_half(x.type)) return narrowed(x.type, log_softmax(widened(x), mask));
  const double u = eps(x.type);
  return row_wise(x, mask, [&](const row& w, std::size_t i) {
    const double shifted = x.value[i] - w.sums.shift, v = shifted - w.sums.log_sum;
    const double bound = x.bound[i] + w.bound +
                         u * (2 * std::fabs(shifted) + 2 * std::fabs(w.sums.log_sum) +
                              w.sums.spread + 4 + 2 * std::sqrt(double(w.size)));
    return std::pair{v, bound};
  });
}

tensor logsumexp(const tensor& x, unsigned mask, bool keepdims) {
  if (is_half(x.type)) return narrowed(x.type, logsumexp(widened(x), mask, keepdims));
  const groups g = group_by(x.shape, mask);
  tensor r = make(x.type, keepdims ? g.result_shape : drop_axes(g.result_shape, mask));
  const double u = eps(x.type);
  for (std::size_t k = 0; k < g.members.size(); ++k) {
    const auto& at = g.members[k];
    if (at.empty()) {  // torch: the log of an empty sum
      r.value[k] = -unknown;
      continue;
    }
    const row_sums s = row_log_sum(x, at);
    const double v = s.shift + s.log_sum;
    r.value[k] = store(x.type, v);
    const double bound = row_bound(x, at) + u * (2 * std::fabs(s.shift) + 2 * std::fabs(s.log_sum) +
                                                 s.spread + 4 + 2 * std::sqrt(double(at.size())));
    r.bound[k] = any_unknown(x, at) ? unknown : std::isfinite(v) ? bound : 0;
  }
  return r;
}

tensor layer_norm(const tensor& x, double eps_value) {
  if (is_half(x.type)) return narrowed(x.type, layer_norm(widened(x), eps_value));
  tensor r = make(x.type, x.shape);
  if (x.shape.empty()) throw std::logic_error("reference: layer_norm of rank 0");
  const groups g = group_by(x.shape, 1u << (x.shape.size() - 1));
  const dtype t = x.type;
  const double u = eps(t), e = store(t, eps_value);
  for (const auto& at : g.members) {
    const double n = double(at.size());
    // Sums in long double, divided once: adding x / n term by term rounds alike at every
    // step, and over 50350 equal terms the mean was 1e-12 off (model 15045), which is more
    // than the bound of loom's own error that this reference checks against.
    long double sum = 0, sum_abs = 0, sum_bound = 0;
    for (std::size_t i : at) {
      sum += x.value[i];
      sum_abs += std::fabs(x.value[i]);
      sum_bound += x.bound[i];
    }
    const double mean = double(sum / n), mean_abs = double(sum_abs / n);
    const double mean_bound = double(sum_bound / n) + (2 + 2 * std::sqrt(n)) * u * mean_abs;
    long double squares = 0, squares_bound = 0;
    for (std::size_t i : at) {
      const double c = x.value[i] - mean, cb = x.bound[i] + mean_bound + u * std::fabs(c);
      squares += c * c;
      squares_bound += 2 * std::fabs(c) * cb + cb * cb;
    }
    const double var = double(squares / n);
    const double var_bound = double(squares_bound / n) + (2 + 2 * std::sqrt(n)) * u * var;
    const double s = 1 / std::sqrt(var + e);
    const double s_bound = s * (0.5 * var_bound / (var + e) + 3 * u);
    bool finite = true;
    for (std::size_t i : at) finite = finite && std::isfinite(x.value[i]);
    // Sums of large values may overflow in the dtype where the double's do not.
    const bool uncertain =
        any_unknown(x, at) || mean_abs * n >= largest(t) / 4 || var * n >= largest(t) / 4;
    for (std::size_t i : at) {
      const double c = x.value[i] - mean, cb = x.bound[i] + mean_bound + u * std::fabs(c);
      const double y = c * s;
      // A NaN or an infinity in the row makes x - mean or the variance NaN: all of it NaN.
      r.value[i] = finite ? store(t, y) : std::nan("");
      // A bound that overflows bounds nothing: a row of one value near the largest double
      // has an infinite variance bound, and |x - mean| = 0 times it is NaN (model 15709).
      const double b = std::fabs(c) * s_bound + s * cb + u * std::fabs(y);
      r.bound[i] = uncertain ? unknown : !finite ? 0 : b < unknown ? b : unknown;
    }
  }
  return r;
}

tensor reverse_last(const tensor& x) {
  tensor r = x;
  if (x.shape.empty()) return r;
  const std::size_t n = x.shape.back();
  for (std::size_t row = 0; n && row < x.size() / n; ++row)
    for (std::size_t j = 0; j < n; ++j) {
      r.value[row * n + j] = x.value[row * n + n - 1 - j];
      r.bound[row * n + j] = x.bound[row * n + n - 1 - j];
    }
  return r;
}

}  // namespace fz::ref
