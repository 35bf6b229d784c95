#pragma once

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

#include "loom/core/errors.hpp"
#include "loom/graph/plan.hpp"
#include "loom/graph/type_name.hpp"

namespace loom {

namespace detail {

// Links impure node I to the first earlier node K with the same trace id.
template <class G, std::size_t I, std::size_t... K>
void link_to_first_copy(G& g, std::index_sequence<K...>) {
  auto& op = node_at<I>(g.nodes).op;
  auto try_link = [&](std::size_t k, std::uint64_t id) {
    if (op.alias == op.no_alias && id == op.trace_id) op.alias = k;
  };
  (
      [&] {
        if constexpr (std::is_same_v<typename node_t<G, K>::op_type,
                                     typename node_t<G, I>::op_type>)
          try_link(K, node_at<K>(g.nodes).op.trace_id);
      }(),
      ...);
  using plan = fusion_plan<G>;
  if (op.alias == op.no_alias || kind_of<node_t<G, I>>() != node_kind::opaque) return;
  // `!=`, not `<`: step_count may be 0, where nvcc warns that `s < 0` is pointless.
  for (std::size_t s = 0; s != plan::step_count; ++s)
    if (plan::per_step.computes[s][I] && !plan::per_step.computes[s][op.alias])
      throw trace_error(
          "loom: the copies of impure opaque node " +
          std::string(type_name<typename node_t<G, I>::op_type::callable_type>()) +
          " are computed by different steps of the plan, so it would run more often than in "
          "eager mode (a loom planning error; please report it)");
}

template <class G, std::size_t I>
void link_if_traced(G& g) {
  if constexpr (requires { node_at<I>(g.nodes).op.alias; })
    link_to_first_copy<G, I>(g, std::make_index_sequence<I>{});
}

}  // namespace detail

// Tracing copies a value into every place that uses it, so the flat graph holds one node
// per use of the result of an impure call, a hook or a whole-tensor call (they are never
// merged by type). This links each copy to the first node of the same call (same trace id),
// and the backends reuse that node's value instead of calling again: the plan computes the
// copies of an element-wise call in one step (fusion_plan::store_impure_calls), and a later
// copy of a whole-tensor call or hook shares the first one's buffer and does not run.
template <class G>
void link_reused_impure_nodes(G& g) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (detail::link_if_traced<G, I>(g), ...);
  }
  (std::make_index_sequence<G::node_count>{});
}

}  // namespace loom
