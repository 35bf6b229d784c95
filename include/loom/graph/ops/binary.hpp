#pragma once

#include <cmath>
#include <string_view>

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

// NaN in either operand gives NaN, as torch.maximum. The packet max keeps a NaN in its first
// operand only, so a NaN in the second is selected explicitly.
struct maximum : arithmetic_binary {
  static constexpr std::string_view name = "maximum";
  template <class T>
  LOOM_HD static constexpr T scalar(T a, T b) {
    return b != b ? b : (a < b ? b : a);
  }
  template <class A, class B>
  static auto simd(const A& a, const B& b) {
    return (b != b).select(b, a.max(b));
  }
};

struct minimum : arithmetic_binary {
  static constexpr std::string_view name = "minimum";
  template <class T>
  LOOM_HD static constexpr T scalar(T a, T b) {
    return b != b ? b : (b < a ? b : a);
  }
  template <class A, class B>
  static auto simd(const A& a, const B& b) {
    return (b != b).select(b, a.min(b));
  }
};

}  // namespace loom::ops
