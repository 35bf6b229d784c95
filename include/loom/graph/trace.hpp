#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "loom/core/extents.hpp"
#include "loom/graph/node.hpp"
#include "loom/graph/opaque.hpp"
#include "loom/tensor/tensor.hpp"

namespace loom {

// Named checks for the static errors of node construction: a failed static_assert prints
// them with the op and the types in the compiler's note.
template <class F, class... Elements>
inline constexpr bool opaque_output_is_dtype =
    dtype<typename opaque_traits<F>::template output_type<Elements...>>;

template <class F, class... Elements>
concept elementwise_callable = callable_on_elements<F, Elements...> &&
    dtype<typename opaque_traits<F>::template output_type<Elements...>>&&
        std::convertible_to<std::invoke_result_t<const F&, Elements...>,
                            typename opaque_traits<F>::template output_type<Elements...>>;

namespace detail {

template <class X>
concept operand = traced<X> || tensor_like<X> || scalar<X>;

// Ops are loom's when at least one operand is a traced value or a tensor; the rest may be
// C++ scalars.
template <class... X>
concept loom_operands = (operand<X> && ...) && ((traced<X> || tensor_like<X>) || ...);

// The dtype weak operands (scalars, literals) adopt: the promotion of the strong ones.
template <class Acc>
constexpr auto strong_of() {
  return std::type_identity<Acc>{};
}
template <class Acc, class N, class... Rest>
constexpr auto strong_of() {
  if constexpr (weak_node<N>)
    return strong_of<Acc, Rest...>();
  else if constexpr (std::is_void_v<Acc>)
    return strong_of<typename N::value_type, Rest...>();
  else
    return strong_of<promote_t<Acc, typename N::value_type>, Rest...>();
}

// The node an operand becomes once the strong dtype is known: traced values stay, weak ones
// (literals, C++ scalars) take the dtype they adopt, converted from the C++ value directly.
template <class Strong, class X>
auto adopt(const X& x) {
  if constexpr (weak_node<X>) {
    return retype<weak_promote_t<Strong, typename X::value_type>>(x);
  } else if constexpr (traced<X>) {
    return x;
  } else {
    using T = weak_promote_t<Strong, scalar_dtype_t<X>>;
    if constexpr (std::is_integral_v<X> && !std::is_same_v<X, bool> &&
                  std::is_same_v<T, std::int32_t>) {
      if (!std::in_range<std::int32_t>(x))
        throw error("loom: the integer scalar " + std::to_string(x) + " does not fit in i32");
    }
    return scalar_leaf<T>{{}, static_cast<T>(x)};
  }
}

template <class X>
using operand_node_t = std::conditional_t<traced<X>, X, scalar_leaf<float>>;

template <class Op, class E>
constexpr auto broadcast_all() {
  return std::type_identity<E>{};
}
template <class Op, class E, class F, class... Rest>
constexpr auto broadcast_all() {
  static_assert(shapes_broadcast<Op, E, F>, "loom: the operands' static extents do not broadcast");
  if constexpr (shapes_broadcast<Op, E, F>)
    return broadcast_all<Op, broadcast_t<E, F>, Rest...>();
  else
    return std::type_identity<E>{};
}

template <class Op, class... N>
auto make_node(const Op& op, const N&... n) {
  static_assert(sizeof...(N) <= max_operands, "loom: an op takes at most 4 operands");
  using sig = typename Op::template signature<typename N::value_type...>;
  if constexpr (ops::is_opaque_v<Op>) {
    static_assert(opaque_output_is_dtype<typename Op::callable_type, typename N::value_type...>,
                  "loom: allow_in_graph<F>: F::output_type must be float, double, int32_t or bool");
    static_assert(elementwise_callable<typename Op::callable_type, typename N::value_type...>,
                  "loom: allow_in_graph<F>: a const F must take one element of each input and return "
                  "a value of its output dtype (F and the element types are named below)");
  }
  using E = typename decltype(broadcast_all<Op, typename N::extents_type...>())::type;
  return apply<Op, typename sig::result_type, E, N...>{{}, op, {n...}};
}

// Builds the node for `op` applied to traced operands and C++ scalars.
template <class Op, class... X>
auto trace_op(const Op& op, const X&... x) {
  using Strong = typename decltype(strong_of<void, operand_node_t<X>...>())::type;
  return make_node(op, adopt<Strong>(x)...);
}

}  // namespace detail
}  // namespace loom
