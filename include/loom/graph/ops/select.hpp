#pragma once

#include <string_view>

#include "loom/core/config.hpp"
#include "loom/graph/ops/signature.hpp"

namespace loom::ops {

// where(c, a, b): a where c holds, else b; a and b promote to a common type.
struct where {
  using shape_rule = elementwise_shape;
  static constexpr std::string_view name = "where";
  static constexpr std::size_t arity = 3;
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

// cast<U>(x): element-wise conversion, as static_cast does.
template <dtype U>
struct cast {
  using shape_rule = elementwise_shape;
  static constexpr std::string_view name = "cast";
  static constexpr std::size_t arity = 1;
  template <class T>
  struct signature : loom::signature<U, T> {};

  template <class T>
  LOOM_HD static constexpr U scalar(T x) {
    return static_cast<U>(x);
  }
  template <class A>
  static auto simd(const A& a) {
    return a.template cast<U>();
  }
};

}  // namespace loom::ops
