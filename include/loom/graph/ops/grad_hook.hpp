#pragma once

#include <cstddef>
#include <string_view>

#include "loom/core/config.hpp"
#include "loom/graph/opaque.hpp"
#include "loom/graph/ops/onnx_form.hpp"
#include "loom/graph/ops/signature.hpp"

namespace loom::ops {

// loom::grad_hook(x, callback): x, unchanged, an element-wise identity that holds the
// callback. In a gradient model its backward rule (autodiff/rules.hpp) is a loom::hook on
// x's cotangent; in any other model the callback is never called. Copies of one call share
// an identity, so compile() merges them and the callback runs once.
template <class C>
struct grad_hook : detail::with_identity {
  using shape_rule = elementwise_shape;
  static constexpr std::size_t arity = 1;
  static constexpr bool is_pure = true;
  using callable_type = C;
  template <class T>
  struct signature : loom::signature<T, T> {};
  static constexpr std::string_view name = "grad_hook";
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

  C callback;
};

}  // namespace loom::ops
