#pragma once

#include <array>
#include <cstddef>

#include "loom/graph/node_table.hpp"

namespace loom {

// What every pass of the plan reads: the graph's node table, its sizes and the kind traits.
// The passes build on each other in a chain, each a class template over the graph that
// derives from the pass before it, so that fusion_plan<G> (graph/plan.hpp), the last, names
// every member of every pass. Each pass names what it uses of the earlier ones with `using`:
// members of a base that depends on G are not found by plain lookup.
template <class G>
struct plan_nodes {
  static constexpr std::size_t node_count = G::node_count;
  static constexpr std::size_t output_count = G::output_count;
  static constexpr std::size_t npos = ~std::size_t(0);
  static constexpr const auto& nodes = node_table<G>;

  static constexpr bool same_dims(std::size_t ra,
                                  const std::array<std::size_t, max_rank>& a,
                                  std::size_t rb,
                                  const std::array<std::size_t, max_rank>& b) {
    if (ra != rb) return false;
    for (std::size_t d = 0; d < ra; ++d)
      if (a[d] != b[d]) return false;
    return true;
  }

  static constexpr bool computable(std::size_t i) { return traits_of(nodes[i].kind).in_registers; }
  // Whole-tensor calls, hooks and barriers: steps of their own, run between fused passes.
  static constexpr bool runs_alone(node_kind k) { return traits_of(k).step == step_kind::call; }
};

}  // namespace loom
