#pragma once

#include <array>
#include <cstddef>

#include "loom/graph/plan/materialize.hpp"

namespace loom {

// What computing values in registers reads from memory: the walk that both the steps pass
// (what a step must come after) and a step's reads (what it loads) are made of.
template <class G>
struct plan_leaves : plan_materialize<G> {
  using plan_materialize<G>::node_count, plan_materialize<G>::nodes,
      plan_materialize<G>::computable, plan_materialize<G>::is_leaf;

  // Visits each node reachable from the roots once, depth first; `visit(x)` says whether to
  // go on to x's operands. A node is marked when it is pushed, so the stack never holds more
  // than node_count entries (`a * a` names one operand twice).
  template <class Roots, class Visit>
  static constexpr void depth_first(const Roots& is_root, Visit visit) {
    std::array<bool, node_count> seen{};
    std::array<std::size_t, node_count> stack{};
    std::size_t top = 0;
    auto push = [&](std::size_t x) {
      if (!seen[x]) seen[x] = true, stack[top++] = x;
    };
    for (std::size_t i = 0; i < node_count; ++i)
      if (is_root[i]) push(i);
    while (top > 0) {
      const std::size_t x = stack[--top];
      if (visit(x))
        for (std::size_t j = 0; j < nodes[x].arity; ++j) push(nodes[x].args[j]);
    }
  }

  // The leaves (values read from memory) that computing `roots` in registers needs; `also`
  // marks values read from memory though the plan would compute them (a backend's choice).
  template <class Roots>
  static constexpr std::array<bool, node_count> leaves_of(const Roots& is_root,
                                                          const Roots& also = Roots{}) {
    std::array<bool, node_count> leaf{};
    depth_first(is_root, [&](std::size_t x) {
      // A root that is itself read from memory (an input or a view) is a leaf too.
      const bool read = (!is_root[x] && (is_leaf(x) || also[x])) || !computable(x);
      leaf[x] = read;
      return !read;
    });
    return leaf;
  }
};

}  // namespace loom
