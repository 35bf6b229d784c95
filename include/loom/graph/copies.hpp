#pragma once

#include <cstddef>
#include <cstring>
#include <utility>

#include "loom/graph/flatten.hpp"

namespace loom {

namespace detail {

// Whether two ops of one type hold the same run-time state: a scalar the same value (bit for
// bit, so 0.f and -0.f stay apart), a stateful element-wise callable the same identity, a
// whole-tensor call, a hook or an impure call the same trace id. Stateless ops always do.
template <class Op>
bool same_state(const Op& a, const Op& b) {
  if constexpr (is_scalar_leaf_v<Op>)
    return std::memcmp(&a.value, &b.value, sizeof a.value) == 0;
  else if constexpr (requires { a.identity; })
    return a.identity == b.identity;
  else if constexpr (requires { a.trace_id; })
    return a.trace_id == b.trace_id;
  else
    return true;
}

// Whether tree node `tree` holds the state of flat node K of `g`, and its children that of
// K's inputs.
template <std::size_t K, class G, class N>
bool tree_agrees(const G& g, const N& tree) {
  using F = node_t<G, K>;
  const auto& flat = node_at<K>(g.nodes).op;
  if constexpr (F::arity == 0) {
    return same_state(tree, flat);
  } else {
    return same_state(tree.op, flat)&& [&]<std::size_t... J>(std::index_sequence<J...>) {
      return (tree_agrees<F::args[J]>(g, node_at<J>(tree.args)) && ...);
    }
    (std::make_index_sequence<F::arity>{});
  }
}

}  // namespace detail

// Whether the graph flatten<copies::shared>(result) may stand for `result`: every copy it
// merged holds the run-time state of the node it became. Tracing copies a value into each
// place that uses it, so the copies of one value always agree; two values that only share a
// type (x * 2.f and x * 3.f) do not.
template <class G, class Result>
bool copies_agree(const G& g, const Result& result) {
  const auto outputs = detail::as_outputs(result);
  return [&]<std::size_t... K>(std::index_sequence<K...>) {
    return (detail::tree_agrees<G::outputs[K]>(g, node_at<K>(outputs)) && ...);
  }
  (std::make_index_sequence<G::output_count>{});
}

}  // namespace loom
