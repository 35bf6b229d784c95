#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "loom/core/config.hpp"
#include "loom/core/dtype.hpp"
#include "loom/graph/node_kind.hpp"
#include "loom/graph/ops/signature.hpp"
#include "loom/graph/type_name.hpp"

namespace loom {

// The granularity tag an F declares (`using granularity = loom::whole_tensor;`) to be called
// once on whole tensors instead of once per element.
struct whole_tensor {};

// What a callable F declares about itself to allow_in_graph. The defaults read optional
// members of F:
//   using output_type = double;              // dtype of the result (default: first input's)
//   static constexpr bool is_pure = false;   // may calls be merged? (default: yes)
//   static constexpr int cost = 4;           // ops per element (default: opaque_default_cost)
//   using granularity = loom::whole_tensor;  // F takes views (default: F takes elements)
//   static constexpr std::string_view name = "f";  // F in explain and dumps (default: its type)
// A whole-tensor F may also declare the extents of its result (default: the broadcast of
// its inputs'), and, where those have dyn extents, how to compute them at run time:
//   template <class... E> using output_extents = loom::extents<...>;
//   static loom::shape output_shape(const loom::shape&... inputs);
// or that its result's dyn extents are always those of input k (so that the planner knows
// they are equal; loom checks on each call):
//   static constexpr std::size_t output_extents_of_input = k;
// Specialise opaque_traits for an F you cannot edit.
//
// An element-wise F that does not declare its cost (on the scale of graph/ops/concept.hpp)
// counts as a transcendental function: the plan cannot see into it, and taking a call for
// cheap would be the worse mistake.
inline constexpr int opaque_default_cost = 10;

template <class F>
struct opaque_traits {
  static constexpr bool is_whole_tensor = [] {
    if constexpr (requires { typename F::granularity; })
      return std::is_same_v<typename F::granularity, whole_tensor>;
    else
      return false;
  }();

  template <class First, class...>
  static constexpr auto output_of() {
    if constexpr (requires { typename F::output_type; })
      return std::type_identity<typename F::output_type>{};
    else
      return std::type_identity<First>{};
  }
  template <class... Ts>
  using output_type = typename decltype(output_of<Ts...>())::type;

  static constexpr bool is_pure = [] {
    if constexpr (requires { F::is_pure; })
      return bool(F::is_pure);
    else
      return true;
  }();

  static constexpr int cost = [] {
    if constexpr (requires { F::cost; })
      return int(F::cost);
    else
      return opaque_default_cost;
  }();
};

// A specialisation of opaque_traits may leave out is_whole_tensor: F is then element-wise.
template <class F>
constexpr bool opaque_is_whole_tensor() {
  if constexpr (requires { opaque_traits<F>::is_whole_tensor; })
    return opaque_traits<F>::is_whole_tensor;
  else
    return false;
}

// A specialisation of opaque_traits may leave out cost too.
template <class F>
constexpr int opaque_cost() {
  if constexpr (requires { opaque_traits<F>::cost; })
    return opaque_traits<F>::cost;
  else
    return opaque_default_cost;
}

// Named so that a failed check prints F and the element types in the compiler's note.
template <class F, class... Elements>
inline constexpr bool callable_on_elements = std::is_invocable_v<const F&, Elements...>;

namespace detail {
// Impure calls get an identity at trace time, so compile() can tell one result used twice
// from two separate calls: tracing copies a reused value into every place it is used, and
// the copies of one call must run F once, as eager mode does.
inline std::uint64_t next_trace_id() {
  static std::atomic<std::uint64_t> counter{0};
  return ++counter;
}

// The base of an op whose calls must stay apart: impure ones get a trace id; pure ones with
// state get an identity, so that compile() can merge the copies of one call (same identity)
// and keep two calls with their own states apart.
template <bool Pure, bool Stateless>
struct trace_identity;

struct no_trace_id {
  static constexpr std::uint64_t trace_id = 0;
};
struct with_trace_id {
  static constexpr std::size_t no_alias = ~std::size_t(0);
  std::uint64_t trace_id = next_trace_id();
  // Set by link_reused_impure_nodes: the earlier node that is the same call.
  std::size_t alias = no_alias;
};
struct with_identity : no_trace_id {
  std::uint64_t identity = next_trace_id();
};
template <>
struct trace_identity<true, true> : no_trace_id {};
template <>
struct trace_identity<true, false> : with_identity {};
template <bool Stateless>
struct trace_identity<false, Stateless> : with_trace_id {};
}  // namespace detail

namespace ops {

// In a CUDA model F runs inside the generated kernel, so its call operator must be
// __host__ __device__. nvcc only warns where a kernel would call a host-only F (and the
// kernel would fail at run time): here that is an error, naming F in its instantiation.
#if defined(__CUDACC__)
#pragma nv_diagnostic push
#pragma nv_diag_error 20014
#endif

// An element-wise black box: the graph holds F, never looks into it, and the backends call
// it once per element, in the fused loop, as a plain (inlinable) call.
template <class F>
struct opaque : detail::trace_identity<opaque_traits<F>::is_pure, std::is_empty_v<F>> {
  using shape_rule = elementwise_shape;
  static constexpr node_kind kind = node_kind::opaque;
  using callable_type = F;
  static constexpr std::string_view name = "opaque";
  static constexpr bool is_pure = opaque_traits<F>::is_pure;
  static constexpr int cost = opaque_cost<F>();

  template <class... Ts>
  struct signature
      : loom::signature<typename opaque_traits<F>::template output_type<Ts...>, Ts...> {};

  F f;  // not [[no_unique_address]]: see flat_node

  template <class... Ts>
  LOOM_HD auto scalar(Ts... xs) const {
    return static_cast<typename opaque_traits<F>::template output_type<Ts...>>(f(xs...));
  }
};
#if defined(__CUDACC__)
#pragma nv_diagnostic pop
#endif

template <class T>
inline constexpr bool is_opaque_v = false;
template <class F>
inline constexpr bool is_opaque_v<opaque<F>> = true;

}  // namespace ops

// Two ops of the same type compute the same function when they hold no state and have no
// side effects; only then may the graph merge two nodes that apply them to the same inputs.
template <class Op>
constexpr bool op_is_mergeable() {
  if constexpr (requires { Op::is_pure; })
    return Op::is_pure && std::is_empty_v<typename Op::callable_type>;
  else
    return std::is_empty_v<Op>;
}

// Two ops of the same type may be merged once their run-time states are compared
// (same_state): pure callables carry an identity or a trace id, descriptors no state.
template <class Op>
constexpr bool op_is_shareable() {
  if constexpr (requires { Op::is_pure; })
    return Op::is_pure;
  else
    return std::is_empty_v<Op>;
}

}  // namespace loom
