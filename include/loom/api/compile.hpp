#pragma once

#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

#include "loom/backends/common/copies_model.hpp"
#include "loom/backends/cpu/compiled_model.hpp"
#include "loom/backends/eager/tree_model.hpp"
#include "loom/core/errors.hpp"
#include "loom/graph/copies.hpp"
#include "loom/graph/flatten.hpp"
#include "loom/graph/input.hpp"

namespace loom {

namespace detail {

// The loom::input an input declaration stands for: itself, or an example tensor's dtype and
// extents.
template <class S>
struct input_spec {
  using type = input<std::remove_const_t<typename S::value_type>, typename S::extents_type>;
};
template <class T, class E, class Dims>
struct input_spec<input<T, E, Dims>> {
  using type = input<T, E, Dims>;
};

template <class S>
inline constexpr bool is_input_v = false;
template <class T, class E, class Dims>
inline constexpr bool is_input_v<input<T, E, Dims>> = true;

template <class S>
concept input_declaration = requires {
  typename S::value_type;
  typename S::extents_type;
}
&&(tensor_like<S> || is_input_v<S>);

// The node that stands for placeholder K of a scripted graph.
template <class G, std::size_t K>
constexpr std::size_t placeholder_node() {
  std::size_t found = G::node_count;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using Op = typename node_t<G, I>::op_type;
          if constexpr (is_input_leaf_v<Op>)
            if (Op::index == K) found = I;
        }(),
        ...);
  }
  (std::make_index_sequence<G::node_count>{});
  return found;
}

// Every placeholder numbered K must declare the same dtype, extents and names: they are one
// input.
template <class G, std::size_t K, class T, class E, class Dims>
constexpr bool placeholders_agree() {
  bool agree = true;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using Op = typename node_t<G, I>::op_type;
          if constexpr (is_input_leaf_v<Op>)
            if (Op::index == K)
              agree = agree && std::is_same_v<typename Op::value_type, T> &&
                      std::is_same_v<typename Op::extents_type, E> &&
                      std::is_same_v<typename Op::dims_type, Dims>;
        }(),
        ...);
  }
  (std::make_index_sequence<G::node_count>{});
  return agree;
}

template <class G, std::size_t K>
constexpr auto find_input_spec() {
  constexpr std::size_t at = placeholder_node<G, K>();
  static_assert(at < G::node_count,
                "loom: a scripted graph's placeholders must be numbered 0, 1, ... without gaps");
  if constexpr (at < G::node_count) {
    using Op = typename node_t<G, at>::op_type;
    using T = typename Op::value_type;
    using E = typename Op::extents_type;
    using Dims = typename Op::dims_type;
    static_assert(placeholders_agree<G, K, T, E, Dims>(),
                  "loom: two placeholders with one number declare different dtypes or extents");
    return std::type_identity<input<T, E, Dims>>{};
  } else {
    return std::type_identity<void>{};
  }
}

template <class G>
constexpr std::size_t placeholder_count() {
  std::size_t n = 0;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using Op = typename node_t<G, I>::op_type;
          if constexpr (is_input_leaf_v<Op>) n = Op::index + 1 > n ? Op::index + 1 : n;
        }(),
        ...);
  }
  (std::make_index_sequence<G::node_count>{});
  return n;
}

// A model to trace (a callable, not a traced value or tuple) and the declarations of its
// inputs.
template <class Model, class... Inputs>
concept traceable = !traced<Model> && !is_tuple_v<std::remove_cvref_t<Model>> &&
                    (input_declaration<std::remove_cvref_t<Inputs>> && ...);

// Named so that a failed fullgraph check shows the node, its op and the reason in the note.
template <std::size_t Node, class Op, group_end Why>
inline constexpr bool fullgraph_fuses_at = false;

template <class Model>
void check_fullgraph(const Model& model) {
  using G = typename Model::graph_type;
  using plan = fusion_plan<G>;
  constexpr std::size_t at = plan::first_break;
  if constexpr (at != plan::npos)
    static_assert(fullgraph_fuses_at<at, typename node_t<G, at>::op_type, plan::first_break_reason>,
                  "loom: fullgraph: the model does not run as one fused pass; the note names the "
                  "node where it breaks, its op and why");
  // Whether the model runs op by op is known once it is traced.
  if constexpr (requires { model.apart(); }) {
    if (model.apart())
      throw trace_error(
          "loom: fullgraph: two values of one type hold different run-time scalars or "
          "callables, so the model runs op by op, not as one fused pass (use loom::lit or a "
          "rank-0 input for the scalars)");
  }
}

// A graph built as a whole rather than traced as a tree (loom::grad's joint graph): compile()
// takes it as it is.
template <class G>
struct built_graph {
  G graph;
};

template <class R>
inline constexpr bool is_built_graph_v = false;
template <class G>
inline constexpr bool is_built_graph_v<built_graph<G>> = true;

// The model for what a traced or scripted model returned. Its graph merges the copies of
// each value, those built on run-time scalars and stateful callables included. Where it
// merged two such values that hold different states (x * 2.f + x * 3.f share a type), the
// model runs op by op instead, as eager mode does.
template <class... Inputs, class Result>
auto compile_traced(const Result& result) {
  auto shared = flatten<copies::shared>(result);
  using G = decltype(shared);
  using Shared = compiled_model<G, Inputs...>;
  if constexpr (!merges_state_copies_v<Result>) {
    return Shared(std::move(shared));
  } else {
    using Apart = eager::tree_model<Result, G, Inputs...>;
    std::optional<Apart> apart;
    if (!copies_agree(shared, result)) apart.emplace(result);
    return copies_model<Shared, Apart>(Shared(std::move(shared)), std::move(apart));
  }
}

// The model for what compile() traced: a graph built as a whole, or a traced result.
template <class... Inputs, class Result>
auto compile_result(const Result& result) {
  if constexpr (is_built_graph_v<Result>) {
    return compiled_model<decltype(result.graph), Inputs...>(result.graph);
  } else {
    return compile_traced<Inputs...>(result);
  }
}

}  // namespace detail

// Asks compile() to fail the build unless the whole model runs as one fused pass, with no
// barrier (torch.compile's fullgraph=True, checked by the compiler).
struct fullgraph_t {};
inline constexpr fullgraph_t fullgraph{};

// Traces `model` at compile time: it is called once with a symbolic placeholder per input
// (declared by loom::input<T, extents<...>>, or taken from an example tensor's type, as
// torch.jit.trace takes example inputs), and the type it returns is the graph. No tensor
// arithmetic happens here; run-time scalars the model meets are recorded as parameters.
template <class Model, class... Inputs>
requires detail::traceable<Model, Inputs...>
auto compile(Model&& model, const Inputs&...) {
  return [&]<std::size_t... K>(std::index_sequence<K...>) {
    return detail::compile_result<typename detail::input_spec<Inputs>::type...>(
        model(input_leaf<K,
                         std::remove_const_t<typename Inputs::value_type>,
                         typename Inputs::extents_type,
                         typename detail::input_spec<Inputs>::type::dims_type>{}...));
  }
  (std::index_sequence_for<Inputs...>{});
}

// compile(model, loom::fullgraph, inputs...): as above, and the build fails where the model
// does not fuse into one pass.
template <class Model, class... Inputs>
requires detail::traceable<Model, Inputs...>
auto compile(Model&& model, fullgraph_t, const Inputs&... inputs) {
  auto compiled = compile(std::forward<Model>(model), inputs...);
  detail::check_fullgraph(compiled);
  return compiled;
}

// Compiles a graph written directly from loom::placeholder values (the scripted form):
// one traced value, or a tuple of them for several results.
template <class Result>
requires(traced<Result> || detail::is_tuple_v<Result>) auto compile(const Result& result) {
  using G = decltype(flatten<copies::shared>(result));
  return [&]<std::size_t... K>(std::index_sequence<K...>) {
    return detail::compile_result<typename decltype(detail::find_input_spec<G, K>())::type...>(
        result);
  }
  (std::make_index_sequence<detail::placeholder_count<G>()>{});
}

// compile(result, loom::fullgraph): the scripted form, failing the build where the graph
// does not fuse into one pass.
template <class Result>
requires(traced<Result> || detail::is_tuple_v<Result>) auto compile(const Result& result,
                                                                    fullgraph_t) {
  auto compiled = compile(result);
  detail::check_fullgraph(compiled);
  return compiled;
}

}  // namespace loom
