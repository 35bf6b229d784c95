#pragma once

// What the reference's files share: the numbers of each dtype, i32 wrap-around, shapes and
// the grouping of elements that reductions and composites fold.

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "reference.hpp"

namespace fz::ref::detail {

// The binary format of a floating-point dtype: significand bits (with the implicit one), the
// smallest normal exponent and the largest finite value.
struct format {
  int digits, min_exponent;
  double largest;
};

inline format format_of(dtype t) {
  switch (t) {
    case dtype::bf16:
      return {8, -126, 0x1.fep127};
    case dtype::f16:
      return {11, -14, 65504.0};
    case dtype::f32:
      return {24, -126, double(std::numeric_limits<float>::max())};
    default:
      return {53, -1022, std::numeric_limits<double>::max()};
  }
}

// The spacing of values at 1 (0 for integers and bools).
inline double eps(dtype t) {
  return is_float(t) ? std::ldexp(1.0, 1 - format_of(t).digits) : 0.0;
}

inline double largest(dtype t) {
  return format_of(t).largest;
}

inline double smallest_normal(dtype t) {
  return std::ldexp(1.0, format_of(t).min_exponent);
}

inline double smallest_subnormal(dtype t) {
  const format f = format_of(t);
  return std::ldexp(1.0, f.min_exponent + 1 - f.digits);
}

// The dtype loom folds, multiplies and accumulates a dtype's values in: f32 for half values.
inline dtype wide(dtype t) {
  return is_half(t) ? dtype::f32 : t;
}

// i32 arithmetic wraps modulo 2^32.
inline double wrap(double x) {
  const auto u = static_cast<std::uint32_t>(static_cast<std::int64_t>(x));
  return static_cast<double>(static_cast<std::int32_t>(u));
}

inline double wrap_mul(double a, double b) {
  const auto ua = static_cast<std::uint32_t>(static_cast<std::int32_t>(a));
  const auto ub = static_cast<std::uint32_t>(static_cast<std::int32_t>(b));
  return static_cast<double>(static_cast<std::int32_t>(ua * ub));
}

inline std::size_t count(const std::vector<std::size_t>& shape) {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  return n;
}

inline std::vector<std::size_t> strides_of(const std::vector<std::size_t>& shape) {
  std::vector<std::size_t> s(shape.size(), 1);
  for (std::size_t d = shape.size(); d-- > 1;) s[d - 1] = s[d] * shape[d];
  return s;
}

inline tensor make(dtype t, std::vector<std::size_t> shape) {
  tensor r;
  r.type = t;
  r.shape = std::move(shape);
  r.value.assign(count(r.shape), 0.0);
  r.bound.assign(r.value.size(), 0.0);
  return r;
}

// Rounding of a sum of n terms whose magnitudes add to `magnitude`. Rounding errors of
// random sign grow as sqrt(n); but loom folds each vector lane in order, and where the terms
// share a sign a lane's sum rounds the same way each time, which grows as the lane's length
// (one corpus model, a mean of 300,000 squares in f32, was off by 3000 eps). The bound
// allows for 16 lanes.
inline double sum_rounding(dtype t, std::size_t n, double magnitude) {
  const double terms = double(n);
  return (2.0 + 2.0 * std::sqrt(terms) + terms / 16) * eps(t) * magnitude +
         terms * smallest_subnormal(t);
}

// A value computed in f32 with bound `b` (reductions, matmul, composites), stored as half
// dtype `t`: its rounding widens the bound, and a bound that reaches past the largest finite
// value leaves the element undetermined (finite or infinite). Other dtypes are stored as
// they are: their functions' bounds include the rounding of the result.
inline void narrow(dtype t, double& value, double& bound) {
  if (!is_half(t) || bound == unknown || !std::isfinite(value)) {
    value = store(t, value);
    return;
  }
  const double low = store(t, value - bound), high = store(t, value + bound);
  value = store(t, value);
  if (std::isinf(low) || std::isinf(high))
    bound = std::isinf(low) && low == high ? 0 : unknown;
  else
    bound += 0.5 * eps(t) * std::fabs(value) + 0.5 * smallest_subnormal(t);
}

// loom computes a composite of half values in f32 as a whole and rounds its result once:
// the composite of widened(x), then narrowed to x's dtype.
inline tensor widened(const tensor& x) {
  tensor w = x;
  w.type = wide(x.type);
  return w;
}

inline tensor narrowed(dtype t, tensor r) {
  r.type = t;
  for (std::size_t i = 0; i < r.size(); ++i) narrow(t, r.value[i], r.bound[i]);
  return r;
}

inline bool any_unknown(const tensor& x, const std::vector<std::size_t>& at) {
  for (std::size_t i : at)
    if (x.bound[i] == unknown) return true;
  return false;
}

inline double row_bound(const tensor& x, const std::vector<std::size_t>& at) {
  double b = 0;
  for (std::size_t i : at) b = std::max(b, x.bound[i]);
  return b;
}

inline std::vector<std::size_t> drop_axes(const std::vector<std::size_t>& kept_shape,
                                          unsigned mask) {
  std::vector<std::size_t> r;
  for (std::size_t d = 0; d < kept_shape.size(); ++d)
    if (!((mask >> d) & 1u)) r.push_back(kept_shape[d]);
  return r;
}

// The elements of x grouped by the axes outside `mask`: one group per element of the
// reduced result, each listing the flat indices it folds, in row-major order.
struct groups {
  std::vector<std::size_t> result_shape;  // with keepdims
  std::vector<std::vector<std::size_t>> members;
};

inline groups group_by(const std::vector<std::size_t>& shape, unsigned mask) {
  groups g;
  for (std::size_t d = 0; d < shape.size(); ++d)
    g.result_shape.push_back((mask >> d) & 1u ? 1 : shape[d]);
  const auto out_strides = strides_of(g.result_shape);
  g.members.resize(count(g.result_shape));
  std::vector<std::size_t> at(shape.size(), 0);
  const std::size_t n = count(shape);
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t out = 0;
    for (std::size_t d = 0; d < shape.size(); ++d)
      if (!((mask >> d) & 1u)) out += at[d] * out_strides[d];
    g.members[out].push_back(i);
    for (std::size_t d = shape.size(); d-- > 0;) {
      if (++at[d] < shape[d]) break;
      at[d] = 0;
    }
  }
  return g;
}

}  // namespace fz::ref::detail
