#pragma once

#if defined(__AVX512F__) && !defined(__CUDA_ARCH__)
#include <immintrin.h>
#endif

#include <type_traits>

#include "loom/core/dtype.hpp"

// Loads and stores of half-precision elements for the CPU's blocks of f32 lanes: W elements
// widened to f32, or rounded back to nearest, ties to even. With AVX-512, 16 at a time
// (vcvtph2ps and vcvtps2ph for f16; for bf16 a shift, and the scalar conversion's integer
// rounding); otherwise element by element through core/half.hpp's conversions. Both give the
// same bits for every value, NaN payloads included.
namespace loom::cpu {

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
    if constexpr (std::is_same_v<T, bf16>) {
      const __m512i x = _mm512_castps_si512(v);
      const __m512i high = _mm512_srli_epi32(x, 16);
      const __m512i bias =
          _mm512_add_epi32(_mm512_and_si512(high, _mm512_set1_epi32(1)), _mm512_set1_epi32(0x7fff));
      const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(x, bias), 16);
      const __m512i quiet = _mm512_or_si512(high, _mm512_set1_epi32(0x40));
      const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
      h = _mm512_cvtepi32_epi16(_mm512_mask_blend_epi32(nan, rounded, quiet));
    } else {
      h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + k), h);
  }
#endif
  for (; k < W; ++k) p[k] = T(in[k]);
}

}  // namespace loom::cpu
