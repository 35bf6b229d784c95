#pragma once

#include <cmath>
#include <string_view>
#include <type_traits>

#include "loom/core/config.hpp"
#include "loom/graph/ops/onnx_form.hpp"
#include "loom/graph/ops/signature.hpp"

// Element-wise binary ops, with NumPy broadcasting of their operands.
namespace loom::ops {

struct add : arithmetic_binary {
  static constexpr std::string_view name = "add";
  static constexpr onnx_form onnx{onnx_step{"Add"}};
  static constexpr int cost = 1;
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
  static constexpr onnx_form onnx{onnx_step{"Sub"}};
  static constexpr int cost = 1;
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
  static constexpr onnx_form onnx{onnx_step{"Mul"}};
  static constexpr int cost = 1;
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
  static constexpr onnx_form onnx{onnx_step{"Div"}};
  static constexpr int cost = 4;
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
  static constexpr onnx_form onnx{onnx_step{"Pow"}};
  static constexpr int cost = 20;  // a log and an exp
  template <class T>
  LOOM_HD static T scalar(T a, T b) {
    return std::pow(a, b);
  }
};

// NaN in either operand gives NaN, as torch.maximum. The SIMD form is the CPU's own packet
// code (Kit::nan_propagating, backends/cpu/packets.hpp).
template <bool Max>
struct nan_propagating {
  template <class T>
  LOOM_HD static constexpr T scalar(T a, T b) {
    return b != b ? b : (Max ? (a < b ? b : a) : (b < a ? b : a));
  }
};

struct maximum : arithmetic_binary, nan_propagating<true> {
  static constexpr std::string_view name = "maximum";
  static constexpr bool returns_an_operand = true;
  static constexpr onnx_form onnx{onnx_step{"Max"}};
  static constexpr int cost = 1;
  template <class Kit, class A, class B>
  static auto simd(Kit, const A& a, const B& b) {
    return Kit::template nan_propagating<true>(a, b);
  }
};

struct minimum : arithmetic_binary, nan_propagating<false> {
  static constexpr std::string_view name = "minimum";
  static constexpr bool returns_an_operand = true;
  static constexpr onnx_form onnx{onnx_step{"Min"}};
  static constexpr int cost = 1;
  template <class Kit, class A, class B>
  static auto simd(Kit, const A& a, const B& b) {
    return Kit::template nan_propagating<false>(a, b);
  }
};

}  // namespace loom::ops
