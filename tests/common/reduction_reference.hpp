#pragma once

// Reductions (sum, mean, max, min, prod, argmax) as the tests see them, shared by
// tests/unit/reduce_test.cpp and tests/cuda/reductions_test.cu: the kinds and their names,
// the loom call for a kind, an axis set as a bit mask, and the double-precision reference
// both backends are checked against. Host code only.

#include <loom/loom.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "shapes.hpp"

namespace loom_test {

enum class red { sum, mean, max, min, prod, argmax };

constexpr const char* name_of(red k) {
  constexpr const char* names[] = {"sum", "mean", "max", "min", "prod", "argmax"};  // as `red`
  return names[static_cast<int>(k)];
}

// loom's reduction of kind K of x, with options o (axes, keepdims).
template <red K, class X, class... O>
auto reduce(const X& x, O... o) {
  if constexpr (K == red::sum)
    return loom::sum(x, o...);
  else if constexpr (K == red::mean)
    return loom::mean(x, o...);
  else if constexpr (K == red::max)
    return loom::max(x, o...);
  else if constexpr (K == red::min)
    return loom::min(x, o...);
  else if constexpr (K == red::prod)
    return loom::prod(x, o...);
  else
    return loom::argmax(x, o...);
}

// loom's reduction of kind K of x over axes A..., with keepdims if Keep.
template <red K, bool Keep, int... A, class X>
auto reduce_over(const X& x) {
  if constexpr (Keep)
    return reduce<K>(x, loom::axes<A...>, loom::keepdims);
  else
    return reduce<K>(x, loom::axes<A...>);
}

// The axes as a bit mask over rank R, negative ones counted from the end.
template <std::size_t R, int... A>
constexpr unsigned mask_of() {
  unsigned m = 0;
  ((m |= 1u << unsigned(A < 0 ? A + int(R) : A)), ...);
  return m;
}

// What a reduction should give.
struct expected_reduction {
  loom::shape shape;
  std::vector<double> value;
  std::vector<double> scale;  // sum of |x| over each result's elements (for mean, their mean)
  std::size_t count = 1;      // elements folded into each result element
  bool empty_error = false;   // max, min or argmax over an empty axis: loom must throw
};

// Reduction k of x (shape `in`) over the axes in `mask`, in double. Walks the input in
// row-major order and sends each element to the result element of its kept indices; `at`,
// its row-major position among the reduced indices, is what argmax returns (the index along
// the one reduced axis, or the flat index over all of them). NaN: max, min and argmax take
// the first NaN and keep it (PyTorch); otherwise the first of equal values wins. With
// wrap_i32 (i32 inputs, given as T or as doubles), sums and products wrap modulo 2^32, as
// loom's integer arithmetic does; the mean of nothing is NaN (0 / 0).
template <class T>
expected_reduction reduction_reference(red k,
                                       const T* x,
                                       const loom::shape& in,
                                       unsigned mask,
                                       bool keep,
                                       bool wrap_i32 = std::is_integral_v<T>) {
  expected_reduction e;
  for (std::size_t d = 0; d < in.rank; ++d) {
    if (!((mask >> d) & 1u)) {
      e.shape.dims[e.shape.rank++] = in.dims[d];
    } else {
      if (keep) e.shape.dims[e.shape.rank++] = 1;
      e.count *= in.dims[d];
    }
  }
  const std::size_t outs = e.shape.size();
  e.empty_error = (k == red::max || k == red::min || k == red::argmax) && e.count == 0 && outs;
  std::vector<double> acc(outs, k == red::prod ? 1.0 : 0.0), best(outs, 0.0), where(outs, 0.0);
  std::vector<std::uint32_t> wrapped(outs, k == red::prod ? 1u : 0u);
  std::vector<bool> seen(outs, false);
  e.scale.assign(outs, 0.0);
  for (std::size_t flat = 0; flat < in.size(); ++flat) {
    const index_t index = unflatten(in, flat);
    std::size_t out = 0, at = 0;
    for (std::size_t d = 0; d < in.rank; ++d) {
      if ((mask >> d) & 1u)
        at = at * in.dims[d] + index[d];
      else
        out = out * in.dims[d] + index[d];
    }
    const double v = static_cast<double>(x[flat]);
    e.scale[out] += std::abs(v);
    acc[out] = k == red::prod ? acc[out] * v : acc[out] + v;
    if (wrap_i32) {
      const auto w = static_cast<std::uint32_t>(static_cast<std::int32_t>(v));
      wrapped[out] = k == red::prod ? wrapped[out] * w : wrapped[out] + w;
    }
    const double b = best[out];
    const bool take =
        !seen[out] || (!std::isnan(b) && (std::isnan(v) || (k == red::min ? v < b : v > b)));
    if (take) {
      best[out] = v;
      where[out] = static_cast<double>(at);
    }
    seen[out] = true;
  }
  for (std::size_t o = 0; o < outs; ++o) {
    if (k == red::mean) e.scale[o] = e.count ? e.scale[o] / double(e.count) : 0;
    if ((k == red::sum || k == red::prod) && wrap_i32)
      acc[o] = static_cast<std::int32_t>(wrapped[o]);
  }
  e.value = k == red::max || k == red::min ? best : k == red::argmax ? where : acc;
  if (k == red::mean)
    for (double& v : e.value) v /= double(e.count);  // 0 / 0: the mean of nothing is NaN
  return e;
}

}  // namespace loom_test
