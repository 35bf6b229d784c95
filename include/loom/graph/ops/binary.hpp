#pragma once

#include <Eigen/Core>
#include <cmath>
#include <string_view>
#include <type_traits>

#include "loom/core/config.hpp"
#include "loom/graph/ops/signature.hpp"

// Element-wise binary ops, with NumPy broadcasting of their operands.
namespace loom::ops {

struct add : arithmetic_binary {
  static constexpr std::string_view name = "add";
  template <class T>
  LOOM_HD static constexpr T scalar(T a, T b) {
    return T(wrapping_t<T>(a) + wrapping_t<T>(b));
  }
  template <class A, class B>
  static auto simd(const A& a, const B& b) {
    return a + b;
  }
};

struct sub : arithmetic_binary {
  static constexpr std::string_view name = "sub";
  template <class T>
  LOOM_HD static constexpr T scalar(T a, T b) {
    return T(wrapping_t<T>(a) - wrapping_t<T>(b));
  }
  template <class A, class B>
  static auto simd(const A& a, const B& b) {
    return a - b;
  }
};

struct mul : arithmetic_binary {
  static constexpr std::string_view name = "mul";
  template <class T>
  LOOM_HD static constexpr T scalar(T a, T b) {
    return T(wrapping_t<T>(a) * wrapping_t<T>(b));
  }
  template <class A, class B>
  static auto simd(const A& a, const B& b) {
    return a * b;
  }
};

// True division: integers divide as f32, as `/` does in PyTorch and NumPy.
struct div : floating_binary {
  static constexpr std::string_view name = "div";
  template <class T>
  LOOM_HD static constexpr T scalar(T a, T b) {
    return a / b;
  }
  template <class A, class B>
  static auto simd(const A& a, const B& b) {
    return a / b;
  }
};

// No SIMD form: Eigen's vectorised pow gets the signs of pow(-0, -1) and pow(-inf, 3)
// wrong, so each lane calls the C library's pow.
struct pow : floating_binary {
  static constexpr std::string_view name = "pow";
  template <class T>
  LOOM_HD static T scalar(T a, T b) {
    return std::pow(a, b);
  }
};

// NaN in either operand gives NaN, as torch.maximum. The SIMD form takes `b` where `b` is NaN,
// else the packet max, which keeps `a` where `a` is NaN: in a reduction `b` is the new
// element, so the NaN test stays off the loop-carried chain (Eigen's NaN-propagating max
// tests the accumulator; it, and a select expression, ran a max reduction 2.5x slower).
template <bool Max>
struct nan_propagating {
  template <class T>
  LOOM_HD static constexpr T scalar(T a, T b) {
    return b != b ? b : (Max ? (a < b ? b : a) : (b < a ? b : a));
  }
  template <class T>
  T operator()(const T& a, const T& b) const {
    return scalar(a, b);
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

struct maximum : arithmetic_binary, nan_propagating<true> {
  static constexpr std::string_view name = "maximum";
  using nan_propagating<true>::scalar;
  template <class A, class B>
  static auto simd(const A& a, const B& b) {
    return a.binaryExpr(b, nan_propagating<true>{});
  }
};

struct minimum : arithmetic_binary, nan_propagating<false> {
  static constexpr std::string_view name = "minimum";
  using nan_propagating<false>::scalar;
  template <class A, class B>
  static auto simd(const A& a, const B& b) {
    return a.binaryExpr(b, nan_propagating<false>{});
  }
};

}  // namespace loom::ops

namespace Eigen::internal {
template <bool Max>
struct functor_traits<loom::ops::nan_propagating<Max>> {
  enum { Cost = 3, PacketAccess = 1 };
};
}  // namespace Eigen::internal
