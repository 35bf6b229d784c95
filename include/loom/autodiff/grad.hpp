#pragma once

#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/api/compile.hpp"
#include "loom/autodiff/backward.hpp"
#include "loom/autodiff/replay.hpp"
#include "loom/graph/copies.hpp"
#include "loom/graph/node_table.hpp"
#include "loom/tensor/tensor.hpp"

// loom::grad and loom::value_and_grad: a model's gradient as another model, traced and
// differentiated at compile time. The result is a callable like the model itself: compile it
// with loom::compile (or loom::cuda::compile), or call it on tensors to compile and run it.
namespace loom {

// The inputs to differentiate with respect to, by position: loom::wrt<0, 2>.
template <std::size_t... I>
struct wrt_t {};
template <std::size_t... I>
inline constexpr wrt_t<I...> wrt{};

namespace autodiff {

template <class Loss>
inline constexpr bool is_scalar_loss =
    Loss::extents_type::rank == 0 && floating<typename Loss::value_type>;

template <class Input>
inline constexpr bool is_floating_input = floating<typename Input::value_type>;

// The gradient of the loss with respect to input I, with that input's dtype and extents
// (zeros where the loss does not depend on it), as a traced value over the walk's leaves.
template <std::size_t I, class G, class Memo, class... X>
auto gradient_of(const X&... x) {
  const auto& input = std::get<I>(std::tie(x...));
  using Input = std::remove_cvref_t<decltype(input)>;
  static_assert(is_floating_input<Input>,
                "loom: grad: gradients are taken with respect to floating-point inputs only (the "
                "input is named below)");
  constexpr std::size_t at = loom::detail::placeholder_node<G, I>();
  if constexpr (at == G::node_count) {
    return detail::broadcast_like(lit<0>, input);
  } else if constexpr (!has_cotangent_v<at, G, Memo>) {
    return detail::broadcast_like(lit<0>, input);
  } else {
    return cotangent_ref_t<at, G>{};
  }
}

// Which nodes of G its outputs read, directly or not: the forward values a gradient needs
// (grad alone does not need the loss itself, and its last reduction would be a pass of its
// own), numbered anew in order.
template <class G>
inline constexpr auto kept_nodes = [] {
  std::array<bool, G::node_count> kept{};
  for (std::size_t o : G::outputs) kept[o] = true;
  for (std::size_t i = G::node_count; i-- > 0;)
    if (kept[i])
      for (std::size_t k = 0; k < node_table<G>[i].arity; ++k)
        kept[node_table<G>[i].args[k]] = true;
  return kept;
}();

template <class G>
inline constexpr auto new_index = [] {
  std::array<std::size_t, G::node_count> index{};
  std::size_t n = 0;
  for (std::size_t i = 0; i < G::node_count; ++i) index[i] = kept_nodes<G>[i] ? n++ : n;
  return index;
}();

template <class G>
inline constexpr std::size_t kept_count =
    new_index<G>[G::node_count - 1] + kept_nodes<G>[G::node_count - 1];

template <class G>
inline constexpr auto kept_list = [] {
  std::array<std::size_t, kept_count<G>> list{};
  for (std::size_t i = 0; i < G::node_count; ++i)
    if (kept_nodes<G>[i]) list[new_index<G>[i]] = i;
  return list;
}();

// Node I of G, its operands numbered anew.
template <std::size_t I, class G>
auto renumbered(const G& g) {
  using N = node_t<G, I>;
  return [&]<std::size_t... A>(std::index_sequence<A...>) {
    return flat_node<typename N::op_type,
                     typename N::value_type,
                     typename N::extents_type,
                     new_index<G>[N::args[A]]...>{node_at<I>(g.nodes).op};
  }
  (std::make_index_sequence<N::arity>{});
}

template <class G>
auto without_unread_nodes(const G& g) {
  return [&]<std::size_t... K, std::size_t... O>(std::index_sequence<K...>,
                                                 std::index_sequence<O...>) {
    return loom::detail::make_graph<G::returns_tuple>(
        node_list(renumbered<kept_list<G>[K]>(g)...),
        std::index_sequence<new_index<G>[G::outputs[O]]...>{});
  }
  (std::make_index_sequence<kept_count<G>>{}, std::make_index_sequence<G::output_count>{});
}

// The joint graph: the forward graph's nodes and the cotangents the walk added, then the
// outputs (traced values over the walk's leaves), less the nodes no output reads.
template <bool ReturnsTuple, class State, class Outputs>
auto join(const State& walked, const Outputs& outputs) {
  auto joined = loom::detail::insert_children<false, typename State::memo_type, 0>(
      walked.nodes, outputs, std::index_sequence<>{});
  return without_unread_nodes(loom::detail::make_graph<ReturnsTuple>(
      joined.last.nodes, typename decltype(joined)::indices{}));
}

// What a gradient model returns, and where its backward pass starts: a loss's gradients
// (its cotangent 1), the loss and its gradients, or loom::vjp's gradients for a cotangent
// the caller passes after the model's inputs.
enum class gradient_kind { grad, value_and_grad, vjp };

// What value_and_grad returns: the loss, then the gradients. Another tail (a training
// step's update) maps them to other results, and may take inputs of its own after the
// model's: `extra_inputs` of them.
struct value_then_gradients {
  static constexpr std::size_t extra_inputs = 0;
  template <class Value, class Gradients, class Inputs>
  auto operator()(const Value& value, const Gradients& gradients, const Inputs&) const {
    return std::tuple_cat(std::make_tuple(value), gradients);
  }
};

// Named so that a failure shows both extents in the note: the output's rank, and its extents
// where both are static.
template <class Cotangent, class Output>
inline constexpr bool cotangent_fits_output = loom::detail::extents_may_match<Cotangent, Output>;

// 1 in the loss's dtype, as a value of that dtype (a bare literal adopts the dtype of what
// it meets), read from nothing: the backward pass need not wait for the loss.
template <class T>
auto unit_cotangent() {
  return loom::detail::make_node(ops::cast<T>{},
                                 literal_leaf<loom::detail::literal_bits(1.0), T>{});
}

// vjp's cotangent c as the output's: in its dtype, and broadcast to its extents where they are
// only known at run time.
template <class G, class C>
auto given_cotangent(const C& c) {
  using Out = node_t<G, G::outputs[0]>;
  using T = typename Out::value_type;
  using OE = typename Out::extents_type;
  static_assert(cotangent_fits_output<typename C::extents_type, OE>,
                "loom: vjp: the cotangent (the last argument) must have the extents of the "
                "model's output (both named below)");
  const auto typed = [&] {
    if constexpr (std::is_same_v<typename C::value_type, T>)
      return c;
    else
      return cast<T>(c);
  }();
  if constexpr (std::is_same_v<typename C::extents_type, OE> && OE::rank_dynamic == 0)
    return typed;
  else
    return detail::broadcast_like(typed, forward_ref_t<G::outputs[0], G>{});
}

// The model of loom::grad, loom::value_and_grad and loom::vjp, as one graph. Called on traced
// inputs (as compile() calls it), it returns the joint graph, ready built.
template <class F, gradient_kind Kind, class Tail, std::size_t... I>
struct gradient_model {
  F f;
  Tail tail;  // value_and_grad's results from the loss and the gradients

  template <class... X>
  requires(traced<X>&&...) auto operator()(const X&... x) const {
    constexpr std::size_t inputs =
        sizeof...(X) - (Kind == gradient_kind::vjp ? 1 : Tail::extra_inputs);
    static_assert(((I < inputs) && ...), "loom: grad: loom::wrt names an input the model lacks");
    const auto all = std::tie(x...);
    const auto out = [&]<std::size_t... K>(std::index_sequence<K...>) {
      return f(std::get<K>(all)...);
    }
    (std::make_index_sequence<inputs>{});
    using Out = std::remove_cvref_t<decltype(out)>;
    if constexpr (Kind == gradient_kind::vjp)
      static_assert(traced<Out> && floating<typename Out::value_type>,
                    "loom: vjp: the model must return one floating-point value");
    else
      static_assert(traced<Out> && is_scalar_loss<Out>,
                    "loom: grad: the model must return one rank-0 floating-point value (a loss); "
                    "reduce it first, with loom::sum or loom::mean");
    // The forward graph as compile() would build it, copies of a value merged.
    const auto g = flatten<copies::shared>(out);
    if constexpr (merges_state_copies_v<Out>) {
      if (!copies_agree(g, out))
        throw trace_error(
            "loom: grad: two values of one type hold different run-time scalars or callables "
            "(as in x * 2.f + x * 3.f), which a gradient model cannot keep apart; use loom::lit "
            "or a rank-0 input for the scalars");
    }
    using G = std::remove_const_t<decltype(g)>;
    const auto seed = loom::detail::dispatch(ops::cotangent_seed{}, [&] {
      if constexpr (Kind == gradient_kind::vjp)
        return given_cotangent<G>(std::get<inputs>(all));
      else
        return unit_cotangent<typename Out::value_type>();
    }());
    const auto walked = backward<G, decltype(seed), I...>(g, seed).run();
    using Memo = typename decltype(walked)::memo_type;
    if constexpr (Kind == gradient_kind::value_and_grad)
      return loom::detail::built_graph{
          join<true>(walked,
                     std::apply([](const auto&... r) { return make_node_list(r...); },
                                tail(value_of<G::outputs[0]>(g),
                                     std::make_tuple(gradient_of<I, G, Memo>(x...)...),
                                     all)))};
    else
      return loom::detail::built_graph{
          join<(sizeof...(I) > 1)>(walked, make_node_list(gradient_of<I, G, Memo>(x...)...))};
  }

  // On tensors: compiles the gradient model for their types, then runs it.
  template <class... X>
  requires(tensor_like<X>&&...) auto operator()(const X&... x) const {
    return loom::compile(*this, x...)(x...);
  }
};

// wrt<> (the default) is the first input.
template <gradient_kind Kind, class F, std::size_t... I, class Tail = value_then_gradients>
auto make_gradient_model(F model, wrt_t<I...>, Tail tail = {}) {
  if constexpr (sizeof...(I) == 0)
    return gradient_model<F, Kind, Tail, 0>{std::move(model), std::move(tail)};
  else
    return gradient_model<F, Kind, Tail, I...>{std::move(model), std::move(tail)};
}

}  // namespace autodiff

// grad(model, wrt<I...>): a model that returns the gradient of model's loss (a rank-0 float)
// with respect to inputs I... (one value, or a tuple for several), each with its input's
// dtype and extents. wrt defaults to the first input.
template <class F, std::size_t... I>
auto grad(F model, wrt_t<I...> inputs = {}) {
  return autodiff::make_gradient_model<autodiff::gradient_kind::grad>(std::move(model), inputs);
}

// value_and_grad(model, wrt<I...>): a model that returns the loss, then the gradients, as one
// tuple.
template <class F, std::size_t... I>
auto value_and_grad(F model, wrt_t<I...> inputs = {}) {
  return autodiff::make_gradient_model<autodiff::gradient_kind::value_and_grad>(std::move(model),
                                                                                inputs);
}

// vjp(model, wrt<I...>): a model called with model's inputs and then a cotangent of its
// output's dtype and extents, that returns the vector-Jacobian products: the gradients of
// sum(model(x...) * cotangent) with respect to inputs I... (one value, or a tuple for
// several). The output may have any rank; wrt defaults to the first input.
template <class F, std::size_t... I>
auto vjp(F model, wrt_t<I...> inputs = {}) {
  return autodiff::make_gradient_model<autodiff::gradient_kind::vjp>(std::move(model), inputs);
}

}  // namespace loom
