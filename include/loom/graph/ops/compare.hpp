#pragma once

#include <string_view>

#include "loom/core/config.hpp"
#include "loom/graph/ops/onnx_form.hpp"
#include "loom/graph/ops/signature.hpp"

// Comparisons: operands promote to a common type, the result is bool. Any comparison with
// NaN is false except `ne`, as IEEE 754 says.
namespace loom::ops {

struct less : comparison {
  static constexpr std::string_view name = "lt";
  static constexpr onnx_form onnx{onnx_step{"Less"}};
  static constexpr int cost = 1;
  template <class T>
  LOOM_HD static constexpr bool scalar(T a, T b) {
    return a < b;
  }
  template <class A, class B>
  static auto simd(const A& a, const B& b) {
    return a < b;
  }
};

struct less_equal : comparison {
  static constexpr std::string_view name = "le";
  static constexpr onnx_form onnx{onnx_step{"LessOrEqual"}};
  static constexpr int cost = 1;
  template <class T>
  LOOM_HD static constexpr bool scalar(T a, T b) {
    return a <= b;
  }
  template <class A, class B>
  static auto simd(const A& a, const B& b) {
    return a <= b;
  }
};

struct greater : comparison {
  static constexpr std::string_view name = "gt";
  static constexpr onnx_form onnx{onnx_step{"Greater"}};
  static constexpr int cost = 1;
  template <class T>
  LOOM_HD static constexpr bool scalar(T a, T b) {
    return a > b;
  }
  template <class A, class B>
  static auto simd(const A& a, const B& b) {
    return a > b;
  }
};

struct greater_equal : comparison {
  static constexpr std::string_view name = "ge";
  static constexpr onnx_form onnx{onnx_step{"GreaterOrEqual"}};
  static constexpr int cost = 1;
  template <class T>
  LOOM_HD static constexpr bool scalar(T a, T b) {
    return a >= b;
  }
  template <class A, class B>
  static auto simd(const A& a, const B& b) {
    return a >= b;
  }
};

struct equal : comparison {
  static constexpr std::string_view name = "eq";
  static constexpr onnx_form onnx{onnx_step{"Equal"}};
  static constexpr int cost = 1;
  template <class T>
  LOOM_HD static constexpr bool scalar(T a, T b) {
    return a == b;
  }
  template <class A, class B>
  static auto simd(const A& a, const B& b) {
    return a == b;
  }
};

struct not_equal : comparison {
  static constexpr std::string_view name = "ne";
  static constexpr onnx_form onnx{onnx_step{"Equal"}, onnx_step{"Not"}};
  static constexpr int cost = 1;
  template <class T>
  LOOM_HD static constexpr bool scalar(T a, T b) {
    return a != b;
  }
  template <class A, class B>
  static auto simd(const A& a, const B& b) {
    return a != b;
  }
};

}  // namespace loom::ops
