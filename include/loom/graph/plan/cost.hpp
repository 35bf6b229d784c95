#pragma once

#include <array>
#include <cstddef>

#include "loom/graph/plan/groups.hpp"

namespace loom {

// What the plan's steps cost in arithmetic, from the ops' own `cost` (graph/ops/concept.hpp):
// fusion recomputes element-wise values in every step that needs them, and this is what that
// recomputation weighs.
template <class G>
struct plan_cost : plan_groups<G> {
  using plan_groups<G>::node_count, plan_groups<G>::nodes, plan_groups<G>::step_count,
      plan_groups<G>::per_step;

  // For each step, the summed cost of the nodes it computes in registers, per element of its
  // iteration space (a reduce step: of its operand's). What it loads costs nothing here, and a
  // backend that loads a value the plan computes (the CPU's stashes) does less.
  static constexpr auto ops_per_element = [] {
    std::array<int, node_count> r{};
    for (std::size_t s = 0; s != step_count; ++s)
      for (std::size_t i = 0; i < node_count; ++i)
        if (per_step.computes[s][i]) r[s] += nodes[i].cost;
    return r;
  }();
};

}  // namespace loom
