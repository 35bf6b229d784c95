#pragma once

#if defined(__AVX512F__) && !defined(__CUDA_ARCH__)
#include <immintrin.h>
#endif

#include <type_traits>

#include "loom/core/dtype.hpp"

// Half-precision elements for the CPU's blocks of f32 lanes: W elements widened to f32,
// rounded back to nearest (ties to even) and stored, or rounded in place. With AVX-512, 16 at
// a time (vcvtph2ps and vcvtps2ph for f16; for bf16 a shift, and the scalar conversion's
// integer rounding); otherwise element by element through core/half.hpp's conversions. Both
// give the same bits for every value, NaN payloads included.
namespace loom::cpu {

#if defined(__AVX512F__) && !defined(__CUDA_ARCH__)
namespace detail {
// v rounded to T, as the bits of a float: bf16 in the top 16 bits (the low ones zero).
template <half_precision T>
inline __m512i rounded_bits(__m512 v) {
  if constexpr (std::is_same_v<T, bf16>) {
    // The scalar conversion's rounding in six instructions. A NaN first keeps its sign and
    // the top of its payload, gains the quiet bit and loses its low half, so that the
    // rounding cannot carry into what it keeps; then nearest, ties to even: add 0x7fff, and
    // one more where the kept part is odd.
    const __m512i x = _mm512_castps_si512(v);
    const __m512i top = _mm512_set1_epi32(int(0xffff0000u));
    constexpr int top_or_quiet = 0xea;  // vpternlogd: (x & top) | quiet
    const __m512i y = _mm512_mask_ternarylogic_epi32(x,
                                                     _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q),
                                                     top,
                                                     _mm512_set1_epi32(0x00400000),
                                                     top_or_quiet);
    const __mmask16 odd = _mm512_test_epi32_mask(y, _mm512_set1_epi32(0x00010000));
    const __m512i rounded = _mm512_mask_add_epi32(
        _mm512_add_epi32(y, _mm512_set1_epi32(0x7fff)), odd, y, _mm512_set1_epi32(0x8000));
    return _mm512_and_si512(rounded, top);
  } else {
    return _mm512_castps_si512(
        _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
  }
}
}  // namespace detail
#endif

template <int W, half_precision T>
inline void widen(const T* p, float* out) {
  int k = 0;
#if defined(__AVX512F__) && !defined(__CUDA_ARCH__)
  for (; k + 16 <= W; k += 16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + k));
    if constexpr (std::is_same_v<T, bf16>)
      _mm512_storeu_ps(out + k,
                       _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)));
    else
      _mm512_storeu_ps(out + k, _mm512_cvtph_ps(h));
  }
#endif
  for (; k < W; ++k) out[k] = float(p[k]);
}

template <int W, half_precision T>
inline void narrow(const float* in, T* p) {
  int k = 0;
#if defined(__AVX512F__) && !defined(__CUDA_ARCH__)
  for (; k + 16 <= W; k += 16) {
    const __m512 v = _mm512_loadu_ps(in + k);
    __m256i h;
    if constexpr (std::is_same_v<T, bf16>)
      h = _mm512_cvtepi32_epi16(_mm512_srli_epi32(detail::rounded_bits<T>(v), 16));
    else
      h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + k), h);
  }
#endif
  for (; k < W; ++k) p[k] = T(in[k]);
}

// W f32 values rounded to T's precision, in place (each op's half-precision result).
template <int W, half_precision T>
inline void round_to(float* v) {
  int k = 0;
#if defined(__AVX512F__) && !defined(__CUDA_ARCH__)
  for (; k + 16 <= W; k += 16)
    _mm512_storeu_ps(v + k, _mm512_castsi512_ps(detail::rounded_bits<T>(_mm512_loadu_ps(v + k))));
#endif
  for (; k < W; ++k) v[k] = float(T(v[k]));
}

}  // namespace loom::cpu
