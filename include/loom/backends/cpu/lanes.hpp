#pragma once

#include <cstddef>
#include <type_traits>

#include "loom/backends/cpu/block.hpp"
#include "loom/backends/cpu/half_packets.hpp"
#include "loom/backends/cpu/packets.hpp"
#include "loom/core/dtype.hpp"

namespace loom::cpu {

// Which SIMD form an op has for blocks A...: with the CPU's packet kit first, or without.
// Named concepts, not requires-expressions inside `apply`: there, nvcc 13 took a one-operand
// simd() for `Op::simd(packets{}, a...)` in a file that also builds CUDA models, and failed
// in its body.
template <class Op, class... A>
concept simd_with_kit = requires(const A&... a) {
  Op::simd(packets{}, a...);
};
template <class Op, class... A>
concept simd_without_kit = requires(const A&... a) {
  Op::simd(a...);
};

// How the fused loop holds values: a block of W elements per node (cpu::block, on Eigen's
// vectorised packet math), or one element at a time for the end of a row. The evaluator is
// written once against this interface. A half-precision value is held in f32 (compute_t):
// loads widen it, stores round it, and a conversion to it rounds.
template <int W>
struct block_lanes {
  static constexpr std::size_t width = W;
  template <class T>
  using value = block<compute_t<T>, W>;

  // `step` is the distance between consecutive elements: 1 for a dense row, 0 for a value
  // broadcast along the row, anything else for a strided view (a gather).
  template <class T>
  static value<T> load(const T* p, std::ptrdiff_t step) {
    if constexpr (half_precision<T>) {
      if (step == 0) return value<T>::Constant(float(*p));
      if (step != 1) return value<T>::from_lanes([&](int k) { return float(p[k * step]); });
      value<T> v;
      widen<W>(p, v.lane);
      return v;
    } else {
      if (step == 1) return value<T>::load(p);
      if (step == 0) return value<T>::Constant(*p);
      return value<T>::from_lanes([&](int k) { return p[k * step]; });
    }
  }
  template <class T>
  static value<T> splat(T x) {
    return value<T>::Constant(compute_t<T>(x));
  }
  template <class T>
  static void store(T* p, const value<T>& v) {
    if constexpr (half_precision<T>)
      narrow<W>(v.lane, p);
    else
      v.store(p);
  }

  // v rounded to half-precision dtype T's precision, in place.
  template <half_precision T>
  static void round(value<T>& v) {
    round_to<W, T>(v.lane);
  }

  // To a dtype's value; to a half-precision dtype, rounded to its precision (and held in f32).
  template <class To, class V>
  static decltype(auto) convert(const V& v) {
    if constexpr (half_precision<To>) {
      value<To> r = convert<float>(v);
      round<To>(r);
      return r;
    } else if constexpr (std::is_same_v<typename V::Scalar, To>)
      return (v);
    else
      return v.template cast<To>();
  }

  // The op's SIMD form where it has one (given the CPU's own packet code where it asks for
  // it); otherwise one call of its scalar function per lane (this is how an opaque callable
  // is fused: W plain calls the compiler may inline).
  template <class R, class Op, class... A>
  static value<R> apply(const Op& op, const A&... a) {
    if constexpr (simd_with_kit<Op, A...>) {
      return Op::simd(packets{}, a...);
    } else if constexpr (simd_without_kit<Op, A...>) {
      return Op::simd(a...);
    } else {
      return per_lane<R>(op, value<typename A::Scalar>(a)...);
    }
  }

  template <class R, class Op, class... T>
  static value<R> per_lane(const Op& op, const block<T, W>&... a) {
    return value<R>::from_lanes([&](int k) { return op.scalar(a.lane[k]...); });
  }
};

struct scalar_lanes {
  static constexpr std::size_t width = 1;
  template <class T>
  using value = compute_t<T>;

  template <class T>
  static value<T> load(const T* p, std::ptrdiff_t) {
    return *p;
  }
  template <class T>
  static value<T> splat(T x) {
    return x;
  }
  template <class T>
  static void store(T* p, value<T> v) {
    *p = static_cast<T>(v);
  }
  template <half_precision T>
  static void round(value<T>& v) {
    v = T(v);
  }
  template <class To, class V>
  static value<To> convert(V v) {
    return static_cast<To>(v);
  }
  template <class R, class Op, class... A>
  static value<R> apply(const Op& op, A... a) {
    return op.scalar(a...);
  }
};

}  // namespace loom::cpu
