#pragma once

#include <bit>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "loom/core/config.hpp"

// The two 16-bit floating-point storage types: bfloat16 (f32's 8 exponent bits, 7 of its
// mantissa bits) and IEEE 754 binary16 (5 exponent bits, 10 mantissa bits). They hold
// values; arithmetic converts them to float first (the implicit conversion), so an op on
// half-precision operands computes in f32 and rounds its result once, to nearest with ties
// to even, as mixed-precision training expects. The conversions are plain bit arithmetic,
// constexpr and usable on the host and the device alike.
namespace loom {

namespace detail {

constexpr std::uint16_t float_to_bf16_bits(float f) {
  const auto x = std::bit_cast<std::uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u)  // NaN: keep the sign and set the quiet bit
    return static_cast<std::uint16_t>((x >> 16) | 0x0040u);
  // Round to nearest, ties to even: add just under half of the dropped part's unit, plus
  // one where the kept part is odd. A carry into the exponent is the correct rounding up,
  // and past the largest finite value it gives infinity.
  const std::uint32_t odd = (x >> 16) & 1u;
  return static_cast<std::uint16_t>((x + 0x7fffu + odd) >> 16);
}

constexpr float bf16_bits_to_float(std::uint16_t h) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16);
}

constexpr std::uint16_t float_to_f16_bits(float f) {
  const auto bits = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t x = bits & 0x7fffffffu;
  if (x > 0x7f800000u)  // NaN: quiet, with the top of the payload
    return static_cast<std::uint16_t>(sign | 0x7e00u | ((x >> 13) & 0x03ffu));
  if (x >= 0x47800000u)  // 65536 and above, infinity included: beyond rounding to 65504
    return static_cast<std::uint16_t>(sign | 0x7c00u);
  if (x < 0x38800000u) {
    // Below f16's smallest normal number, 2^-14: a subnormal result, m * 2^-24, with m the
    // float's significand shifted right and rounded to nearest, ties to even.
    const std::uint32_t exponent = x >> 23;
    const std::uint32_t shift = 126u - exponent;  // 14 or more
    if (shift > 24u) return sign;                 // below 2^-25: rounds to zero
    const std::uint32_t significand = (x & 0x007fffffu) | 0x00800000u;
    std::uint32_t m = significand >> shift;
    const std::uint32_t rest = significand & ((1u << shift) - 1u);
    const std::uint32_t half = 1u << (shift - 1u);
    if (rest > half || (rest == half && (m & 1u))) ++m;  // 0x400 is 2^-14, correctly encoded
    return static_cast<std::uint16_t>(sign | m);
  }
  // A normal result: rebias the exponent (127 to 15) and round the mantissa's 13 dropped
  // bits as for bf16; a carry out of the mantissa rounds up to the next binade or infinity.
  const std::uint32_t odd = (x >> 13) & 1u;
  return static_cast<std::uint16_t>(sign | ((x - 0x38000000u + 0x0fffu + odd) >> 13));
}

constexpr float f16_bits_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t m = h & 0x03ffu;
  if (exponent == 0x1fu)  // infinity, or NaN made quiet (as the processor's conversion does)
    return std::bit_cast<float>(sign | 0x7f800000u | (m << 13) | (m != 0 ? 0x00400000u : 0u));
  if (exponent != 0) return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (m << 13));
  if (m == 0) return std::bit_cast<float>(sign);
  // A subnormal: normalise m * 2^-24 into a float.
  std::uint32_t e = 113;  // the float exponent of 2^-14, f16's smallest normal
  while ((m & 0x0400u) == 0) {
    m <<= 1;
    --e;
  }
  return std::bit_cast<float>(sign | (e << 23) | ((m & 0x03ffu) << 13));
}

// The two formats: their bit conversions from and to float.
struct bf16_format {
  LOOM_HD static constexpr std::uint16_t from_float(float f) { return float_to_bf16_bits(f); }
  LOOM_HD static constexpr float to_float(std::uint16_t h) { return bf16_bits_to_float(h); }
};
struct f16_format {
  LOOM_HD static constexpr std::uint16_t from_float(float f) { return float_to_f16_bits(f); }
  LOOM_HD static constexpr float to_float(std::uint16_t h) { return f16_bits_to_float(h); }
};

// A 16-bit storage type of a Format: converts implicitly from float (and from any other
// arithmetic type, through float, as PyTorch's half types do) and to float, so that op
// descriptors' scalar functions, written for float and double, take it as they are.
template <class Format>
struct half_storage {
  std::uint16_t bits;

  half_storage() = default;
  LOOM_HD constexpr half_storage(float f) : bits(Format::from_float(f)) {}
  template <class S>
  requires(std::is_arithmetic_v<S> && !std::is_same_v<S, float>) LOOM_HD constexpr half_storage(S x)
      : bits(Format::from_float(static_cast<float>(x))) {}
  LOOM_HD constexpr operator float() const { return Format::to_float(bits); }

  // Compound assignment computes in float and rounds once, as loom's ops do.
  LOOM_HD constexpr half_storage& operator+=(float x) { return *this = float(*this) + x; }
  LOOM_HD constexpr half_storage& operator-=(float x) { return *this = float(*this) - x; }
  LOOM_HD constexpr half_storage& operator*=(float x) { return *this = float(*this) * x; }
  LOOM_HD constexpr half_storage& operator/=(float x) { return *this = float(*this) / x; }

  LOOM_HD static constexpr half_storage from_bits(std::uint16_t b) {
    half_storage h{};
    h.bits = b;
    return h;
  }
};

}  // namespace detail

// bfloat16: f32's range with 8 significant bits (about 2-3 decimal digits).
using bf16 = detail::half_storage<detail::bf16_format>;
// IEEE 754 binary16: 11 significant bits, largest finite value 65504.
using f16 = detail::half_storage<detail::f16_format>;

}  // namespace loom

namespace std {

template <class Format>
struct numeric_limits<loom::detail::half_storage<Format>> {
  using H = loom::detail::half_storage<Format>;
  static constexpr bool bf = std::is_same_v<Format, loom::detail::bf16_format>;
  static constexpr bool is_specialized = true;
  static constexpr bool is_signed = true;
  static constexpr bool is_integer = false;
  static constexpr bool is_exact = false;
  static constexpr bool has_infinity = true;
  static constexpr bool has_quiet_NaN = true;
  static constexpr bool has_signaling_NaN = false;
  static constexpr bool is_iec559 = !bf;
  static constexpr int digits = bf ? 8 : 11;
  static constexpr int radix = 2;
  static constexpr H min() noexcept { return H::from_bits(bf ? 0x0080 : 0x0400); }
  static constexpr H max() noexcept { return H::from_bits(bf ? 0x7f7f : 0x7bff); }
  static constexpr H lowest() noexcept { return H::from_bits(bf ? 0xff7f : 0xfbff); }
  static constexpr H epsilon() noexcept { return H::from_bits(bf ? 0x3c00 : 0x1400); }
  static constexpr H infinity() noexcept { return H::from_bits(bf ? 0x7f80 : 0x7c00); }
  static constexpr H quiet_NaN() noexcept { return H::from_bits(bf ? 0x7fc0 : 0x7e00); }
  static constexpr H denorm_min() noexcept { return H::from_bits(0x0001); }
};

}  // namespace std
