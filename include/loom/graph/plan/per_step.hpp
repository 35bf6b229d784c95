#pragma once

#include <array>
#include <cstddef>

#include "loom/graph/plan/steps.hpp"

namespace loom {

// What each step reads from memory, computes in registers and stores.
template <class G>
struct plan_per_step : plan_steps<G> {
  using plan_steps<G>::node_count, plan_steps<G>::nodes, plan_steps<G>::materialized,
      plan_steps<G>::is_leaf, plan_steps<G>::leaves_of, plan_steps<G>::depth_first,
      plan_steps<G>::steps, plan_steps<G>::step_of, plan_steps<G>::step_count;

  // Which nodes a step reads from memory (`loads`) and computes in registers (`computes`);
  // a map step stores the materialised values it computes (`stores`).
  struct step_reads {
    std::array<bool, node_count> loads{}, computes{}, stores{};
  };
  // Step s's reads, with the values `also` marks read from memory instead of computed.
  static constexpr step_reads reads_of_step(std::size_t s,
                                            const std::array<bool, node_count>& also = {}) {
    step_reads r;
    std::array<bool, node_count> root{};
    if (steps[s].kind == step_kind::map) {
      for (std::size_t i = 0; i < node_count; ++i)
        if (materialized[i] && step_of[i] == s) root[i] = r.stores[i] = true;
    } else if (steps[s].kind == step_kind::reduce) {
      const std::size_t operand = nodes[steps[s].node].args[0];
      if (is_leaf(operand))
        r.loads[operand] = true;
      else
        root[operand] = true;
    }
    const auto leaf = leaves_of(root, also);
    depth_first(root, [&](std::size_t x) {
      (leaf[x] ? r.loads : r.computes)[x] = true;
      return !leaf[x];
    });
    return r;
  }
  struct step_nodes {
    std::array<std::array<bool, node_count>, node_count> loads{}, computes{}, stores{};
  };
  static constexpr step_nodes per_step = [] {
    step_nodes r;
    // `!=`, not `<`: a plan may have no steps (a model that returns an input), and
    // nvcc warns that `s < 0` is pointless. The same for group_count below.
    for (std::size_t s = 0; s != step_count; ++s) {
      const step_reads one = reads_of_step(s);
      r.loads[s] = one.loads;
      r.computes[s] = one.computes;
      r.stores[s] = one.stores;
    }
    return r;
  }();
};

}  // namespace loom
