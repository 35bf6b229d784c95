#pragma once

#include <limits>
#include <string_view>
#include <type_traits>

#include "loom/core/config.hpp"
#include "loom/graph/ops/onnx_form.hpp"
#include "loom/graph/ops/signature.hpp"

namespace loom::ops {

// where(c, a, b): a where c holds, else b; a and b promote to a common type.
struct where {
  using shape_rule = elementwise_shape;
  static constexpr std::string_view name = "where";
  static constexpr bool returns_an_operand = true;
  static constexpr onnx_form onnx{onnx_step{"Where"}};
  static constexpr int cost = 1;
  static constexpr std::size_t arity = 3;
  static constexpr std::size_t first_value_operand = 1;  // the condition's dtype is its own
  template <class C, class A, class B>
  struct signature : loom::signature<promote_t<A, B>, bool, promote_t<A, B>, promote_t<A, B>> {};

  template <class T>
  LOOM_HD static constexpr T scalar(bool c, T a, T b) {
    return c ? a : b;
  }
  template <class C, class A, class B>
  static auto simd(const C& c, const A& a, const B& b) {
    return c.select(a, b);
  }
};

// cast<U>(x): element-wise conversion, as static_cast does, except where C++ leaves it
// undefined: a floating-point value cast to i32 saturates (values beyond the range give
// INT32_MIN or INT32_MAX) and NaN gives 0, the rule of Rust's `as` and Java's casts. The
// conversion instruction would give INT32_MIN for all of them, so such casts have no SIMD
// form: each lane takes the scalar rule, and eager, fused and GPU code agree.
template <dtype U>
struct cast {
  using shape_rule = elementwise_shape;
  static constexpr std::string_view name = "cast";
  static constexpr std::string_view onnx = "Cast";
  static constexpr int cost = 1;
  static constexpr std::size_t arity = 1;
  template <class T>
  struct signature : loom::signature<U, T> {};

  template <class T>
  static constexpr bool saturates = floating<T>&& std::is_integral_v<U> && !std::is_same_v<U, bool>;

  template <class T>
  LOOM_HD static constexpr U scalar(T x) {
    if constexpr (saturates<T>) {
      constexpr T lowest = T(std::numeric_limits<U>::min());  // -2^31, exact in f32 and f64
      if (x != x) return U(0);
      if (x <= lowest) return std::numeric_limits<U>::min();
      if (x >= -lowest) return std::numeric_limits<U>::max();
    }
    return static_cast<U>(x);
  }
  // A cast to a half-precision dtype converts to f32, the lanes' type for it; the evaluator
  // then rounds the result to U, as it rounds every half-precision result.
  template <class A>
  requires(!saturates<typename A::Scalar>) static auto simd(const A& a) {
    return a.template cast<compute_t<U>>();
  }
};

}  // namespace loom::ops
