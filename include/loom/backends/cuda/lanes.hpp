#pragma once

#include <cstddef>

#include "loom/core/config.hpp"

namespace loom::cuda {

// V consecutive elements of one value, held by one GPU thread. Aligned so that a dense
// run of them is one 16-byte load or store (two for double).
template <class T, int V>
struct alignas(sizeof(T) * V < 16 ? sizeof(T) * V : 16) lane_pack {
  T lane[V];
};

// How a GPU thread holds values for the fused evaluator (common::evaluate, written once for
// both backends): V elements per value. The launcher picks V > 1 only where every value read
// with step 1 is 16-byte aligned at each pack, so the pack load is a vector load.
template <int V>
struct thread_lanes {
  static constexpr std::size_t width = V;
  template <class T>
  using value = lane_pack<T, V>;

  // `step`: 1 dense, 0 broadcast, else a strided view (a gather).
  template <class T>
  LOOM_HD_INLINE static value<T> load(const T* p, std::ptrdiff_t step) {
    if (step == 1) return *reinterpret_cast<const value<T>*>(p);
    value<T> v;
    LOOM_UNROLL
    for (int k = 0; k < V; ++k) v.lane[k] = p[k * step];
    return v;
  }
  template <class T>
  LOOM_HD_INLINE static value<T> splat(T x) {
    value<T> v;
    LOOM_UNROLL
    for (int k = 0; k < V; ++k) v.lane[k] = x;
    return v;
  }
  template <class T>
  LOOM_HD_INLINE static void store(T* p, const value<T>& v) {
    *reinterpret_cast<value<T>*>(p) = v;
  }
  template <class To, class T>
  LOOM_HD_INLINE static value<To> convert(const value<T>& v) {
    value<To> r;
    LOOM_UNROLL
    for (int k = 0; k < V; ++k) r.lane[k] = static_cast<To>(v.lane[k]);
    return r;
  }
  // Every op, opaque callables included, through its scalar (host and device) function.
  template <class R, class Op, class... T>
  LOOM_HD_INLINE static value<R> apply(const Op& op, const value<T>&... a) {
    value<R> r;
    LOOM_UNROLL
    for (int k = 0; k < V; ++k) r.lane[k] = op.scalar(a.lane[k]...);
    return r;
  }
};

}  // namespace loom::cuda
