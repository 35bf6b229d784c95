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

// The placeholder compile() traces input K, declared as `Input` (a loom::input), with.
template <std::size_t K, class Input>
using placeholder_for = input_leaf<K,
                                   typename Input::value_type,
                                   typename Input::extents_type,
                                   typename Input::dims_type>;

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

// The graph of what compile() traced: a graph built as a whole, or a traced result's, copies
// of each value merged (those built on run-time scalars and stateful callables included).
template <class Result>
auto graph_of(const Result& result) {
  if constexpr (is_built_graph_v<Result>)
    return result.graph;
  else
    return flatten<copies::shared>(result);
}
template <class Result>
struct graph_type_of {
  using type = decltype(graph_of(std::declval<const Result&>()));
};

// The model for what compile() traced, its graph of type `Named` (a name compile() gave the
// graph) or, where Named is void, of graph_of's type. Where the graph merged two values that
// hold different run-time states (x * 2.f + x * 3.f share a type), the model runs op by op
// instead, as eager mode does.
template <class Named, class... Inputs, class Result>
auto compile_result(const Result& result) {
  auto graph = graph_of(result);
  using G = std::conditional_t<std::is_void_v<Named>, decltype(graph), Named>;
  using Shared = compiled_model<G, Inputs...>;
  constexpr bool copies_may_disagree = [] {
    if constexpr (is_built_graph_v<Result>)
      return false;
    else
      return merges_state_copies_v<Result>;
  }();
  if constexpr (!copies_may_disagree) {
    return Shared(G{std::move(graph)});
  } else {
    using Apart = eager::tree_model<Result, G, Inputs...>;
    G shared{std::move(graph)};
    std::optional<Apart> apart;
    if (!copies_agree(shared, result)) apart.emplace(result);
    return copies_model<Shared, Apart>(Shared(std::move(shared)), std::move(apart));
  }
}

// compile() for inputs declared as loom::input (example tensors stand for theirs, so that
// both forms give one model type). The model runs its graph under a name of this function's
// own: every function a model instantiates is named after its graph type, which spells out
// each node (about 9 kB for a training step's), and g++ builds those names for every
// function it keeps, a fifth of such a model's compile. A class local to this function is
// named after Model and Inputs instead. (Named from the types alone: g++ 12 crashes where
// the local class's base names a local variable.) Not under nvcc, which may not instantiate
// a kernel on a local class; void there: the graph's own type.
template <class Model, class... Inputs>
auto compile_declared(Model& model) {
  return [&]<std::size_t... K>(std::index_sequence<K...>) {
#ifdef __CUDACC__
    using model_graph = void;
#else
    using traced = typename graph_type_of<
        std::remove_cvref_t<std::invoke_result_t<Model&, placeholder_for<K, Inputs>...>>>::type;
    struct model_graph : renamed_graph<traced> {};
#endif
    return compile_result<model_graph, Inputs...>(model(placeholder_for<K, Inputs>{}...));
  }
  (std::index_sequence_for<Inputs...>{});
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
  return detail::compile_declared<Model, typename detail::input_spec<Inputs>::type...>(model);
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
    return detail::compile_result<void,
                                  typename decltype(detail::find_input_spec<G, K>())::type...>(
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
