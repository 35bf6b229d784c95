#pragma once

#include <cstddef>

#include "loom/core/config.hpp"
#include "loom/core/dtype.hpp"

namespace loom::cuda {

// V consecutive elements of one value, held by one GPU thread. Aligned so that a dense
// run of them is one 16-byte load or store (two for double).
template <class T, int V>
struct alignas(sizeof(T) * V < 16 ? sizeof(T) * V : 16) lane_pack {
  T lane[V];
};

// How a GPU thread holds values for the fused evaluator (common::evaluate, written once for
// both backends): V elements per value. The launcher picks V > 1 only where every value read
// with step 1 is 16-byte aligned at each pack, so the pack load is a vector load. A
// half-precision value is held in f32 (compute_t), as on the CPU: loads widen it, stores and
// conversions to it round it, with core/half.hpp's conversions, so that both backends give
// the same bits for the same f32 result.
template <int V>
struct thread_lanes {
  static constexpr std::size_t width = V;
  template <class T>
  using value = lane_pack<compute_t<T>, V>;

  // `step`: 1 dense, 0 broadcast, else a strided view (a gather).
  template <class T>
  LOOM_HD_INLINE static value<T> load(const T* p, std::ptrdiff_t step) {
    if constexpr (half_precision<T>) {
      // One load of the packed storage, then widened lane by lane.
      const lane_pack<T, V> stored = load_stored(p, step);
      value<T> v;
      LOOM_UNROLL
      for (int k = 0; k < V; ++k) v.lane[k] = float(stored.lane[k]);
      return v;
    } else {
      return load_stored(p, step);
    }
  }
  template <class T>
  LOOM_HD_INLINE static value<T> splat(T x) {
    value<T> v;
    LOOM_UNROLL
    for (int k = 0; k < V; ++k) v.lane[k] = compute_t<T>(x);
    return v;
  }
  template <class T>
  LOOM_HD_INLINE static void store(T* p, const value<T>& v) {
    lane_pack<T, V> stored;
    LOOM_UNROLL
    for (int k = 0; k < V; ++k) stored.lane[k] = T(v.lane[k]);
    *reinterpret_cast<lane_pack<T, V>*>(p) = stored;
  }
  // v rounded to half-precision dtype T's precision, in place.
  template <half_precision T>
  LOOM_HD_INLINE static void round(value<T>& v) {
    LOOM_UNROLL
    for (int k = 0; k < V; ++k) v.lane[k] = float(T(v.lane[k]));
  }
  // To a dtype's value; to a half-precision dtype, rounded to its precision (held in f32).
  template <class To, class From>
  LOOM_HD_INLINE static value<To> convert(const lane_pack<From, V>& v) {
    value<To> r;
    LOOM_UNROLL
    for (int k = 0; k < V; ++k) r.lane[k] = compute_t<To>(static_cast<To>(v.lane[k]));
    return r;
  }
  // Every op, opaque callables included, through its scalar (host and device) function.
  template <class R, class Op, class... T>
  LOOM_HD_INLINE static value<R> apply(const Op& op, const lane_pack<T, V>&... a) {
    value<R> r;
    LOOM_UNROLL
    for (int k = 0; k < V; ++k) r.lane[k] = op.scalar(a.lane[k]...);
    return r;
  }

 private:
  template <class T>
  LOOM_HD_INLINE static lane_pack<T, V> load_stored(const T* p, std::ptrdiff_t step) {
    if (step == 1) return *reinterpret_cast<const lane_pack<T, V>*>(p);
    lane_pack<T, V> v;
    LOOM_UNROLL
    for (int k = 0; k < V; ++k) v.lane[k] = p[k * step];
    return v;
  }
};

}  // namespace loom::cuda
