#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "loom/core/extents.hpp"
#include "loom/core/shape.hpp"
#include "loom/graph/node_kind.hpp"
#include "loom/graph/opaque.hpp"
#include "loom/graph/ops/signature.hpp"
#include "loom/graph/type_name.hpp"
#include "loom/tensor/tensor.hpp"

// Nodes the fused loops cannot look into: they run between fusion groups, on materialised
// tensors, once per run of the model.
namespace loom {

namespace detail {
template <class E>
constexpr auto broadcast_extents_of() {
  return std::type_identity<E>{};
}
template <class E, class F, class... Rest>
constexpr auto broadcast_extents_of() {
  return broadcast_extents_of<broadcast_t<E, F>, Rest...>();
}

template <class F, class... E>
constexpr auto output_extents_of() {
  if constexpr (requires { typename F::template output_extents<E...>; })
    return std::type_identity<typename F::template output_extents<E...>>{};
  else
    return broadcast_extents_of<E...>();
}
}  // namespace detail

// The static extents of a whole-tensor F's result for inputs of extents E...
template <class F, class... E>
using opaque_output_extents_t = typename decltype(detail::output_extents_of<F, E...>())::type;

// Named checks for whole-tensor F, so that a failure names F and the view types.
template <class F, class Out, class... In>
inline constexpr bool callable_on_views = std::is_invocable_v<const F&, In..., Out>;

template <class E>
using shape_for = shape;

template <class F, class... E>
inline constexpr bool output_shape_computable =
    opaque_output_extents_t<F, E...>::rank_dynamic == 0 || !requires {
  typename F::template output_extents<E...>;
}
|| requires(const shape_for<E>&... s) {
  { F::output_shape(s...) } -> std::convertible_to<shape>;
};

template <class C, class View>
inline constexpr bool hook_callable = std::is_invocable_v<C&, View>;

namespace ops {

// allow_in_graph<F> for an F that takes whole tensors: F receives a read-only view of each
// input and a view of its result to write, once per run. A fusion barrier. Every call has a
// trace id, pure or not: a stateful F's result used twice is two copies of one node, and F
// must still run once.
template <class F>
struct opaque_call : detail::with_trace_id {
  static constexpr node_kind kind = node_kind::opaque_call;
  static constexpr std::string_view name = "opaque_call";
  using callable_type = F;
  static constexpr bool is_pure = opaque_traits<F>::is_pure;

  template <class... Ts>
  struct signature
      : loom::signature<typename opaque_traits<F>::template output_type<Ts...>, Ts...> {};
  template <class... E>
  using result_extents = opaque_output_extents_t<F, E...>;

  F f;  // not [[no_unique_address]]: see flat_node

  // The result's shape at run time: F::output_shape where F declares its extents, else the
  // broadcast of the inputs.
  template <class... E, class... S>
  static shape result_shape(const S&... in) {
    using R = result_extents<E...>;
    shape r;
    if constexpr (requires { F::output_shape(in...); }) {
      r = F::output_shape(in...);
    } else if constexpr (requires { typename F::template output_extents<E...>; }) {
      r = detail::static_shape<R>();
    } else {
      const std::array<shape, sizeof...(S)> all{in...};
      r = all[0];
      for (std::size_t k = 1; k < all.size(); ++k) r = broadcast_shapes(r, all[k], name);
    }
    if (!conforms<R>(r))
      throw shape_error("loom: allow_in_graph<" + std::string(type_name<F>()) +
                        ">: output_shape gave " + r.to_string() + ", not a shape of " +
                        extents_string<R>());
    if constexpr (requires { F::output_extents_of_input; }) {
      const shape same = std::array<shape, sizeof...(S)>{in...}[F::output_extents_of_input];
      bool agree = r.rank == same.rank;
      for (std::size_t d = 0; agree && d != R::rank; ++d)
        agree = R::dims[d] != dyn || r.dims[d] == same.dims[d];
      if (!agree)
        throw shape_error("loom: allow_in_graph<" + std::string(type_name<F>()) +
                          ">: output_shape gave " + r.to_string() + ", whose dyn extents are not " +
                          "those of input " + std::to_string(F::output_extents_of_input) + " (" +
                          same.to_string() + "), as F declares");
    }
    return r;
  }
};

// loom::hook(x, callback): x, unchanged; the callback sees x's materialised value once per
// run, in program order. Never merged, since each hook is its own side effect.
template <class C>
struct hook : detail::with_trace_id {
  static constexpr node_kind kind = node_kind::hook;
  static constexpr std::string_view name = "hook";
  static constexpr std::size_t arity = 1;
  static constexpr bool is_pure = false;
  using callable_type = C;
  template <class T>
  struct signature : loom::signature<T, T> {};
  template <class E>
  using result_extents = E;
  static shape result_shape(const shape& in) { return in; }

  // A callback may keep state (count calls, collect values): compiled models are const.
  mutable C callback;
};

// loom::fusion_barrier(x): x, unchanged and materialised; the fused groups end here.
struct barrier {
  static constexpr node_kind kind = node_kind::barrier;
  static constexpr std::string_view name = "fusion_barrier";
  static constexpr std::size_t arity = 1;
  template <class T>
  struct signature : loom::signature<T, T> {};
  template <class E>
  using result_extents = E;
  static shape result_shape(const shape& in) { return in; }
};

}  // namespace ops
}  // namespace loom
