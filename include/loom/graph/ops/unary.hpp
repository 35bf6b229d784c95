#pragma once

#include <cmath>
#include <string_view>

#include "loom/core/config.hpp"
#include "loom/graph/ops/signature.hpp"

// Element-wise unary ops. `scalar` is the definition (host and device); `simd`, where present,
// is the same function on a whole block through an array type with Eigen's vectorised math.
namespace loom::ops {

struct neg : arithmetic_unary {
  static constexpr std::string_view name = "neg";
  template <class T>
  LOOM_HD static constexpr T scalar(T x) {
    return -x;
  }
  template <class A>
  static auto simd(const A& a) {
    return -a;
  }
};

struct abs : arithmetic_unary {
  static constexpr std::string_view name = "abs";
  template <class T>
  LOOM_HD static T scalar(T x) {
    return std::abs(x);
  }
  template <class A>
  static auto simd(const A& a) {
    return a.abs();
  }
};

struct square : arithmetic_unary {
  static constexpr std::string_view name = "square";
  template <class T>
  LOOM_HD static constexpr T scalar(T x) {
    return x * x;
  }
  template <class A>
  static auto simd(const A& a) {
    return a.square();
  }
};

// max(x, 0) with x first: a NaN input stays NaN, as in PyTorch, both here and in Eigen's
// packet max, which returns its first operand when either is NaN.
struct relu : arithmetic_unary {
  static constexpr std::string_view name = "relu";
  template <class T>
  LOOM_HD static constexpr T scalar(T x) {
    return x < T(0) ? T(0) : x;
  }
  template <class A>
  static auto simd(const A& a) {
    return a.max(typename A::Scalar(0));
  }
};

struct exp : floating_unary {
  static constexpr std::string_view name = "exp";
  template <class T>
  LOOM_HD static T scalar(T x) {
    return std::exp(x);
  }
  template <class A>
  static auto simd(const A& a) {
    return a.exp();
  }
};

struct log : floating_unary {
  static constexpr std::string_view name = "log";
  template <class T>
  LOOM_HD static T scalar(T x) {
    return std::log(x);
  }
  template <class A>
  static auto simd(const A& a) {
    return a.log();
  }
};

struct sqrt : floating_unary {
  static constexpr std::string_view name = "sqrt";
  template <class T>
  LOOM_HD static T scalar(T x) {
    return std::sqrt(x);
  }
  template <class A>
  static auto simd(const A& a) {
    return a.sqrt();
  }
};

struct rsqrt : floating_unary {
  static constexpr std::string_view name = "rsqrt";
  template <class T>
  LOOM_HD static T scalar(T x) {
    return T(1) / std::sqrt(x);
  }
  template <class A>
  static auto simd(const A& a) {
    return a.rsqrt();
  }
};

struct sin : floating_unary {
  static constexpr std::string_view name = "sin";
  template <class T>
  LOOM_HD static T scalar(T x) {
    return std::sin(x);
  }
  template <class A>
  static auto simd(const A& a) {
    return a.sin();
  }
};

struct cos : floating_unary {
  static constexpr std::string_view name = "cos";
  template <class T>
  LOOM_HD static T scalar(T x) {
    return std::cos(x);
  }
  template <class A>
  static auto simd(const A& a) {
    return a.cos();
  }
};

struct tanh : floating_unary {
  static constexpr std::string_view name = "tanh";
  template <class T>
  LOOM_HD static T scalar(T x) {
    return std::tanh(x);
  }
  template <class A>
  static auto simd(const A& a) {
    return a.tanh();
  }
};

struct sigmoid : floating_unary {
  static constexpr std::string_view name = "sigmoid";
  template <class T>
  LOOM_HD static T scalar(T x) {
    return T(1) / (T(1) + std::exp(-x));
  }
  template <class A>
  static auto simd(const A& a) {
    return a.logistic();
  }
};

// The exact GELU, x * Phi(x), as PyTorch's default.
struct gelu : floating_unary {
  static constexpr std::string_view name = "gelu";
  template <class T>
  LOOM_HD static T scalar(T x) {
    return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440)));
  }
  template <class A>
  static auto simd(const A& a) {
    using T = typename A::Scalar;
    return T(0.5) * a * (T(1) + (a * T(0.70710678118654752440)).erf());
  }
};

}  // namespace loom::ops
