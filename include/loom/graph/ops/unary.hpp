#pragma once

#include <cmath>
#include <limits>
#include <string_view>
#include <type_traits>

#include "loom/core/config.hpp"
#include "loom/graph/ops/onnx_form.hpp"
#include "loom/graph/ops/signature.hpp"

// Element-wise unary ops. `scalar` is the definition (host and device); `simd`, where present,
// is the same function on a whole block through an array type with Eigen's vectorised math.
namespace loom::ops {

// Eigen's vectorised log, sqrt, rsqrt and exp are exact enough only inside a range (with
// AVX-512 they flush subnormals, get sqrt(inf) and sqrt(-0) wrong, and f64 exp stops at
// 5.6e-309 instead of reaching 0). Where a block's smallest or largest value leaves that
// range, the lanes outside it are computed again with the C library; two vectorised
// reductions decide, so ordinary data keeps the fast path, and a few zeros among normal
// numbers (Adam's second moment where a gradient vanished) leave the other lanes vectorised.
// The block's minCoeff and maxCoeff skip NaN lanes (a NaN stays NaN on either path), so that
// a NaN cannot hide an infinity beside it.
template <class Op, class A, class Fast, class InRange>
auto vectorised_in_range(const A& a, Fast fast, InRange in_range) {
  using Block = typename A::PlainObject;
  const Block x = a;
  Block r = fast(x);
  if (in_range(x.minCoeff(), x.maxCoeff())) return r;
  for (int k = 0; k != int(x.size()); ++k)
    if (!in_range(x[k], x[k])) r[k] = Op::scalar(x[k]);
  return r;
}

// True for values from the smallest normal number to the largest finite one.
inline constexpr auto positive_normal = [](auto lo, auto hi) {
  using T = decltype(lo);
  return lo >= std::numeric_limits<T>::min() && hi <= std::numeric_limits<T>::max();
};

struct neg : arithmetic_unary {
  static constexpr std::string_view name = "neg";
  static constexpr bool returns_an_operand = true;
  static constexpr onnx_form onnx{onnx_step{"Neg"}};
  static constexpr int cost = 1;
  template <class T>
  LOOM_HD static constexpr T scalar(T x) {
    if constexpr (std::is_integral_v<T>)
      return T(wrapping_t<T>(0) - wrapping_t<T>(x));
    else
      return -x;
  }
  template <class A>
  static auto simd(const A& a) {
    // Eigen negates as 0 - a, which turns -0 into +0; a multiplication keeps the sign.
    return a * typename A::Scalar(-1);
  }
};

struct abs : arithmetic_unary {
  static constexpr std::string_view name = "abs";
  static constexpr bool returns_an_operand = true;
  static constexpr onnx_form onnx{onnx_step{"Abs"}};
  static constexpr int cost = 1;
  template <class T>
  LOOM_HD static T scalar(T x) {
    if constexpr (std::is_integral_v<T>)  // abs(INT32_MIN) wraps to itself, as vpabsd does
      return x < 0 ? T(wrapping_t<T>(0) - wrapping_t<T>(x)) : x;
    else
      return std::abs(x);
  }
  template <class A>
  static auto simd(const A& a) {
    return a.abs();
  }
};

struct square : arithmetic_unary {
  static constexpr std::string_view name = "square";
  static constexpr onnx_form onnx{onnx_step{"Mul", onnx_step::operand}};
  static constexpr int cost = 1;
  template <class T>
  LOOM_HD static constexpr T scalar(T x) {
    return T(wrapping_t<T>(x) * wrapping_t<T>(x));
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
  static constexpr bool returns_an_operand = true;
  static constexpr onnx_form onnx{onnx_step{"Relu"}};
  static constexpr int cost = 1;
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
  static constexpr onnx_form onnx{onnx_step{"Exp"}};
  static constexpr int cost = 10;
  template <class T>
  LOOM_HD static T scalar(T x) {
    return std::exp(x);
  }
  // Kit::exp is the CPU's exp of a block (backends/cpu/packets.hpp), exact from
  // Kit::exp_exact_from<T> up; below it a block is computed lane by lane.
  template <class Kit, class A>
  static auto simd(Kit, const A& a) {
    constexpr double exact_from = Kit::template exp_exact_from<typename A::Scalar>;
    if constexpr (exact_from == -std::numeric_limits<double>::infinity())
      return Kit::exp(a);
    else
      return vectorised_in_range<exp>(
          a,
          [](const auto& x) { return Kit::exp(x); },
          [](double lo, double) { return lo >= exact_from; });
  }
};

struct log : floating_unary {
  static constexpr std::string_view name = "log";
  static constexpr onnx_form onnx{onnx_step{"Log"}};
  static constexpr int cost = 10;
  template <class T>
  LOOM_HD static T scalar(T x) {
    return std::log(x);
  }
  template <class A>
  static auto simd(const A& a) {
    return vectorised_in_range<log>(
        a, [](const auto& x) { return x.log(); }, positive_normal);
  }
};

struct sqrt : floating_unary {
  static constexpr std::string_view name = "sqrt";
  static constexpr onnx_form onnx{onnx_step{"Sqrt"}};
  static constexpr int cost = 4;
  template <class T>
  LOOM_HD static T scalar(T x) {
    return std::sqrt(x);
  }
  template <class A>
  static auto simd(const A& a) {
    using Block = typename A::PlainObject;
    if constexpr (requires { requires Block::has_exact_sqrt(); })
      return Block(a.sqrt());  // the processor's own square root: exact everywhere
    else
      return vectorised_in_range<sqrt>(
          a, [](const auto& x) { return x.sqrt(); }, positive_normal);
  }
};

struct rsqrt : floating_unary {
  static constexpr std::string_view name = "rsqrt";
  static constexpr onnx_form onnx{onnx_step{"Sqrt"}, onnx_step{"Reciprocal"}};
  static constexpr int cost = 8;  // a square root and a division
  template <class T>
  LOOM_HD static T scalar(T x) {
    return T(1) / std::sqrt(x);
  }
  template <class A>
  static auto simd(const A& a) {
    return vectorised_in_range<rsqrt>(
        a, [](const auto& x) { return x.rsqrt(); }, positive_normal);
  }
};

struct sin : floating_unary {
  static constexpr std::string_view name = "sin";
  static constexpr onnx_form onnx{onnx_step{"Sin"}};
  static constexpr int cost = 15;
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
  static constexpr onnx_form onnx{onnx_step{"Cos"}};
  static constexpr int cost = 15;
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
  static constexpr onnx_form onnx{onnx_step{"Tanh"}};
  static constexpr int cost = 15;
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
  static constexpr onnx_form onnx{onnx_step{"Sigmoid"}};
  static constexpr int cost = 16;  // an exp, a negation, an addition and a division
  template <class T>
  LOOM_HD static T scalar(T x) {
    return T(1) / (T(1) + std::exp(-x));
  }
  // Through the CPU's exp, not Eigen's logistic(): that one is accurate in absolute terms
  // only and ~5e-4 off relatively where sigmoid is small (x < -5).
  template <class Kit, class A>
  static auto simd(Kit, const A& a) {
    using T = typename A::Scalar;
    return T(1) / (T(1) + Kit::exp(-a));
  }
};

// The exact GELU, x * Phi(x), as PyTorch's default.
struct gelu : floating_unary {
  static constexpr std::string_view name = "gelu";
  static constexpr onnx_form onnx{onnx_step{"Mul", onnx_step::constant, 0.70710678118654752440},
                                  onnx_step{"Erf"},
                                  onnx_step{"Add", onnx_step::constant, 1},
                                  onnx_step{"Mul", onnx_step::operand},
                                  onnx_step{"Mul", onnx_step::constant, 0.5}};
  static constexpr onnx_native_op onnx_native{20, "Gelu"};
  static constexpr int cost = 20;  // erf and four arithmetic operations
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

// An element-wise op that returns its operand, of any dtype: what stop_gradient and
// grad_hook (graph/ops/grad_hook.hpp) compute; their gradients differ.
struct elementwise_identity {
  using shape_rule = elementwise_shape;
  static constexpr bool returns_an_operand = true;
  static constexpr std::size_t arity = 1;
  template <class T>
  struct signature : loom::signature<T, T> {};
  static constexpr onnx_form onnx{onnx_step{"Identity"}};
  static constexpr int cost = 0;
  template <class T>
  LOOM_HD static constexpr T scalar(T x) {
    return x;
  }
  template <class A>
  static auto simd(const A& a) {
    return a;
  }
};

// stop_gradient(x): x; loom::grad sends no gradient through it (the backward rules are in
// autodiff/rules.hpp).
struct stop_gradient : elementwise_identity {
  static constexpr std::string_view name = "stop_gradient";
};

// Where a gradient model's backward pass starts (loom::grad's 1, loom::vjp's cotangent): its
// operand, unchanged. It marks the joint graph's backward part, for explain's list of the
// forward values the backward pass reads.
struct cotangent_seed : elementwise_identity {
  static constexpr std::string_view name = "cotangent_seed";
};

}  // namespace loom::ops
