#pragma once

#include <Eigen/Core>
#include <limits>
#include <type_traits>

#include "loom/backends/cpu/exp_float.hpp"
#include "loom/graph/ops/binary.hpp"

#ifdef __AVX512F__
#include <immintrin.h>
#endif

namespace loom::cpu {

// NaN in either operand gives NaN (ops::nan_propagating), on Eigen's packets: `b` where `b` is
// NaN, else the packet max, which keeps `a` where `a` is NaN. In a reduction `b` is the new
// element, so the NaN test stays off the loop-carried chain (Eigen's NaN-propagating max
// tests the accumulator; it, and a select expression, ran a max reduction 2.5x slower).
template <bool Max>
struct nan_propagating_packet {
  // The scalar form, host and device as exp_float's.
  template <class T>
  LOOM_HD T operator()(const T& a, const T& b) const {
    return loom::ops::nan_propagating<Max>::scalar(a, b);
  }
  template <class Packet>
  Packet packetOp(const Packet& a, const Packet& b) const {
#ifdef __AVX512F__
    // One masked max: AVX-512 keeps the comparison in a mask register, where Eigen's
    // pselect converts it to a vector and back.
    using traits = Eigen::internal::unpacket_traits<Packet>;
    constexpr bool floats = std::is_same_v<typename traits::type, float>;
    constexpr bool doubles = std::is_same_v<typename traits::type, double>;
    if constexpr (floats && traits::size == 16) {
      const __mmask16 number = _mm512_cmp_ps_mask(b, b, _CMP_ORD_Q);
      return Max ? _mm512_mask_max_ps(b, number, b, a) : _mm512_mask_min_ps(b, number, b, a);
    } else if constexpr (doubles && traits::size == 8) {
      const __mmask8 number = _mm512_cmp_pd_mask(b, b, _CMP_ORD_Q);
      return Max ? _mm512_mask_max_pd(b, number, b, a) : _mm512_mask_min_pd(b, number, b, a);
    }
#endif
    // Eigen's pmax(a, b), like std::max, returns `a` where either is NaN.
    namespace e = Eigen::internal;
    return e::pselect(e::pcmp_eq(b, b), Max ? e::pmax(a, b) : e::pmin(a, b), b);
  }
};

// The packet code of the CPU backend's own that ops' SIMD forms call (their `Kit`
// parameter; lanes.hpp passes this), so that the ops layer stays free of Eigen's internals
// and of intrinsics.
struct packets {
  // exp of a block: exp_float's for float, Eigen's otherwise.
  template <class A>
  static auto exp(const A& a) {
    if constexpr (std::is_same_v<typename A::Scalar, float>)
      return a.unaryExpr(exp_float{});
    else
      return a.exp();
  }
  // Where `exp` stops being exact: below log(smallest normal) the f64 result is subnormal or
  // 0, which Eigen's f64 exp misses; exp_float reaches them where it has its own packets
  // (AVX-512), and below exp_float::exact_from elsewhere.
  template <class T>
  static constexpr double exp_exact_from = std::is_same_v<T, double>
                                               ? -708.39641853226408
                                               : double(exp_float::exact_from);

  template <bool Max, class A, class B>
  static auto nan_propagating(const A& a, const B& b) {
    return a.binaryExpr(b, nan_propagating_packet<Max>{});
  }
};

}  // namespace loom::cpu

namespace Eigen::internal {
template <bool Max>
struct functor_traits<loom::cpu::nan_propagating_packet<Max>> {
  enum { Cost = 3, PacketAccess = 1 };
};
}  // namespace Eigen::internal
