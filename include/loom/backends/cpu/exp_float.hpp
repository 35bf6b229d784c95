#pragma once

#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <type_traits>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "loom/core/config.hpp"

namespace loom::cpu {

// exp of float blocks, as an Eigen functor (so it runs on Eigen's packets, in registers).
// With AVX-512 a packet of 16 floats is exp(r) * 2^k: k = round(x / ln 2), r = x - k ln 2 in
// two parts (Cody-Waite), exp(r) by the Cephes polynomial that Eigen's exp also uses, and
// 2^k applied by one vscalefps, which rounds overflow to inf and small results to subnormals
// or 0 as a multiplication does. Eigen's float exp builds 2^k with integer arithmetic in three
// multiplications and clamps twice more: this form is about half the instructions, and exp
// dominates a softmax in cache. Other packets use Eigen's.
struct exp_float {
  // Host and device only so that nvcc, which compiles Eigen's evaluators for both, accepts
  // it; it only ever runs on the host.
  LOOM_HD float operator()(float x) const { return std::exp(x); }

  // The packets are exact (within 1.26 ulp, subnormal results and 0 included) from here up.
  // Eigen's exp, which other packets use (AVX2, SSE), clamps its argument at -88.72, so below
  // that it gives exp(-88.72) = 2.9e-39 instead of the subnormal results and 0.
#ifdef __AVX512F__
  static constexpr float exact_from = -std::numeric_limits<float>::infinity();
#else
  static constexpr float exact_from = -88.72f;
#endif

  template <class Packet>
  Packet packetOp(const Packet& x) const {
#ifdef __AVX512F__
    using traits = Eigen::internal::unpacket_traits<Packet>;
    if constexpr (std::is_same_v<typename traits::type, float> && traits::size == 16)
      return exp16(x);
#endif
    return Eigen::internal::pexp(x);
  }

#ifdef __AVX512F__
  static __m512 exp16(__m512 x) {
    // Beyond these exp is inf (above log(FLT_MAX) = 88.72) or rounds to 0 (below -103.97);
    // clamping keeps k and r finite. min and max return their second operand where either is
    // NaN, so a NaN stays one.
    x = _mm512_max_ps(_mm512_set1_ps(-104.f), _mm512_min_ps(_mm512_set1_ps(88.8f), x));
    const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fmadd_ps(k, _mm512_set1_ps(-0.693359375f), x);
    r = _mm512_fmadd_ps(k, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p =
        _mm512_fmadd_ps(_mm512_set1_ps(1.9875691500e-4f), r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    // exp(r) = 1 + r + r^2 p(r)
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.f)));
    return _mm512_scalef_ps(p, k);
  }
#endif
};

}  // namespace loom::cpu

namespace Eigen::internal {
template <>
struct functor_traits<loom::cpu::exp_float> {
  enum { Cost = 20, PacketAccess = 1 };
};
}  // namespace Eigen::internal
