#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/core/extents.hpp"
#include "loom/graph/node.hpp"
#include "loom/graph/opaque.hpp"
#include "loom/graph/ops/call.hpp"
#include "loom/graph/ops/concept.hpp"
#include "loom/graph/ops/matmul.hpp"
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
  if constexpr (std::is_void_v<Strong>) {
    // Weak operands alone (cast<float>(lit<0.9>)): each keeps its own dtype.
    if constexpr (traced<X>)
      return x;
    else
      return scalar_leaf<scalar_dtype_t<X>>{{}, static_cast<scalar_dtype_t<X>>(x)};
  } else if constexpr (weak_node<X>) {
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

// The static extents of an op's result: its own rule where it has one (reductions, views,
// matmul, whole-tensor calls), else NumPy broadcasting of the operands.
template <class Op, class... E>
constexpr auto result_extents_of() {
  if constexpr (requires { typename Op::template result_extents<E...>; })
    return std::type_identity<typename Op::template result_extents<E...>>{};
  else
    return broadcast_all<Op, E...>();
}

template <class Op, class... N>
constexpr void check_opaque_operands() {
  using F = typename Op::callable_type;
  static_assert(opaque_output_is_dtype<F, typename N::value_type...>,
                "loom: allow_in_graph<F>: F::output_type must be float, double, loom::bf16, "
                "loom::f16, int32_t or bool");
  if constexpr (ops::is_opaque_v<Op>) {
    static_assert(elementwise_callable<F, typename N::value_type...>,
                  "loom: allow_in_graph<F>: a const F must take one element of each input and "
                  "return a value of its output dtype (F and the element types are named below)");
  } else if constexpr (opaque_output_is_dtype<F, typename N::value_type...>) {
    using O = typename opaque_traits<F>::template output_type<typename N::value_type...>;
    using OE = opaque_output_extents_t<F, typename N::extents_type...>;
    static_assert(
        callable_on_views<F,
                          tensor_view<O, OE>,
                          tensor_view<const typename N::value_type, typename N::extents_type>...>,
        "loom: allow_in_graph<F> (whole tensor): a const F must take a read-only "
        "tensor_view of each input, then a tensor_view of its result to write (F and "
        "the view types are named below)");
    static_assert(output_shape_computable<F, typename N::extents_type...>,
                  "loom: allow_in_graph<F>: F::output_extents has dyn extents, so F must declare "
                  "static loom::shape output_shape(const loom::shape&...) to size its result");
  }
}

template <class T, class U>
inline constexpr bool matmul_dtypes_supported = std::is_same_v<T, U>&& floating<T>;

template <class A, class B>
constexpr void check_matmul_operands() {
  static_assert(matmul_ranks_supported<A, B>,
                "loom: matmul: operands must have rank 2 (a matrix) or 3 (a batch of them)");
  static_assert(matmul_inner_extents_agree<A, B>,
                "loom: matmul: the first operand's last extent differs from the second's "
                "next-to-last");
  static_assert(matmul_batches_agree<A, B>, "loom: matmul: the batch extents do not broadcast");
}

template <class Op, class... N>
constexpr void check_operands() {
  constexpr node_kind kind = op_kind<Op>();
  if constexpr (kind == node_kind::elementwise) {
    static_assert(
        requires { Op::cost; },
        "loom: an element-wise op descriptor must declare `static constexpr int cost`, "
        "the arithmetic operations one element costs, on the scale graph/ops/concept.hpp "
        "gives (the op is named below)");
    static_assert(ops::elementwise_op<Op, typename N::value_type...>,
                  "loom: an element-wise op descriptor must declare name, cost, signature<T...> "
                  "and scalar(operands...) as graph/ops/concept.hpp says (the op and what it "
                  "misses are named below)");
  } else if constexpr (kind == node_kind::reduction) {
    static_assert((ops::reduction_rule<typename Op::kind_type, typename N::value_type> && ...),
                  "loom: a reduction's rule must declare name, signature<T>, empty_allowed and "
                  "either combine, identity<T>() and finish(folded, count), or beats(x, at, best, "
                  "best_at), as graph/ops/concept.hpp says (the rule is named below)");
  } else if constexpr (kind == node_kind::opaque || kind == node_kind::opaque_call) {
    check_opaque_operands<Op, N...>();
  } else if constexpr (kind == node_kind::matmul) {
    static_assert(matmul_dtypes_supported<typename N::value_type...>,
                  "loom: matmul: both operands must have one floating-point dtype (cast first)");
    check_matmul_operands<typename N::extents_type...>();
  } else if constexpr (kind == node_kind::hook) {
    static_assert(
        hook_callable<typename Op::callable_type,
                      tensor_view<const typename N::value_type, typename N::extents_type>...>,
        "loom: hook: the callback must take a loom::tensor_view<const T, E> of the "
        "value (the callback and the view type are named below)");
  }
}

template <class Op, class... N>
auto make_node(const Op& op, const N&... n) {
  static_assert(sizeof...(N) <= max_operands, "loom: an op takes at most 4 operands");
  check_operands<Op, N...>();
  using sig = typename Op::template signature<typename N::value_type...>;
  using E = typename decltype(result_extents_of<Op, typename N::extents_type...>())::type;
  return apply<Op, typename sig::result_type, E, N...>{{}, op, node_list<N...>(n...)};
}

// The operands whose dtypes the result takes: all, or from Op::first_value_operand on (where's
// condition has its own dtype, and a scalar beside it takes the values' dtype, not the
// condition's).
template <class Op>
constexpr std::size_t first_value_operand() {
  if constexpr (requires { Op::first_value_operand; })
    return Op::first_value_operand;
  else
    return 0;
}

template <std::size_t First, class... N>
constexpr auto strong_from() {
  return []<std::size_t... I>(std::index_sequence<I...>) {
    return strong_of<void, std::tuple_element_t<First + I, std::tuple<N...>>...>();
  }
  (std::make_index_sequence<sizeof...(N) - First>{});
}

// Builds the node for `op` applied to traced operands and C++ scalars. Scalars adopt the
// promotion of the strong value operands, or where these are all scalars, of every strong
// operand.
template <class Op, class... X>
auto trace_op(const Op& op, const X&... x) {
  using Values =
      typename decltype(strong_from<first_value_operand<Op>(), operand_node_t<X>...>())::type;
  using All = typename decltype(strong_of<void, operand_node_t<X>...>())::type;
  using Strong = std::conditional_t<std::is_void_v<Values>, All, Values>;
  return make_node(op, adopt<Strong>(x)...);
}

}  // namespace detail
}  // namespace loom
