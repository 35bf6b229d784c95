#pragma once

#include <string_view>

#include "loom/graph/opaque.hpp"
#include "loom/graph/ops/unary.hpp"

namespace loom::ops {

// loom::grad_hook(x, callback): x, unchanged, an element-wise identity that holds the
// callback. In a gradient model its backward rule (autodiff/rules.hpp) is a loom::hook on
// x's cotangent; in any other model the callback is never called. Copies of one call share
// an identity, so compile() merges them and the callback runs once.
template <class C>
struct grad_hook : elementwise_identity, detail::with_identity {
  static constexpr bool is_pure = true;
  using callable_type = C;
  static constexpr std::string_view name = "grad_hook";

  C callback;
};

}  // namespace loom::ops
