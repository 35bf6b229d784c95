#pragma once

#include <array>
#include <cstddef>

#include "loom/graph/plan/leaves.hpp"

namespace loom {

// The order in which the steps pass meets the nodes: the graph's, except where the copies of
// an impure call must wait for one another.
template <class G>
struct plan_order : plan_leaves<G> {
  using plan_leaves<G>::node_count, plan_leaves<G>::npos, plan_leaves<G>::nodes,
      plan_leaves<G>::runs_alone, plan_leaves<G>::is_impure_call, plan_leaves<G>::twin_class;

  // The order in which the step table places the nodes: the graph's order, except that a
  // member of a twin class of impure calls waits until the operands of every member are
  // placed, so that one step can compute the copies of a call (store_impure_calls). A copy's
  // operand may come after the first member in the graph's order: a copy of a hook, barrier
  // or whole-tensor call is a node of its own, whose step reuses the first one's value
  // (graph/impure.hpp). Calls, hooks and barriers keep their order among themselves. Where
  // these constraints meet in a cycle, the graph's order.
  static constexpr auto visit_order = [] {
    std::array<std::size_t, node_count> order{};
    for (std::size_t i = 0; i < node_count; ++i) order[i] = i;
    bool twins = false;
    for (std::size_t i = 0; i < node_count; ++i)
      twins = twins || (is_impure_call(i) && twin_class[i] != i);
    if (!twins) return order;
    // before[x][y]: y must be placed before x.
    std::array<std::array<bool, node_count>, node_count> before{};
    std::size_t last_alone = npos;
    for (std::size_t x = 0; x < node_count; ++x) {
      for (std::size_t j = 0; j < node_count; ++j)
        if (j == x || (is_impure_call(x) && is_impure_call(j) && twin_class[j] == twin_class[x]))
          for (std::size_t a = 0; a < nodes[j].arity; ++a) before[x][nodes[j].args[a]] = true;
      if (runs_alone(nodes[x].kind)) {
        if (last_alone != npos) before[x][last_alone] = true;
        last_alone = x;
      }
    }
    // Depth first, predecessors in the graph's order: without twins this is the graph's order.
    enum : unsigned char { unseen, open, placed };
    std::array<unsigned char, node_count> state{};
    std::array<std::size_t, node_count> stack{}, next{};
    std::size_t top = 0, count = 0;
    for (std::size_t r = 0; r < node_count; ++r) {
      if (state[r] != unseen) continue;
      state[r] = open;
      stack[top++] = r;
      while (top > 0) {
        const std::size_t x = stack[top - 1];
        while (next[x] < node_count && (!before[x][next[x]] || state[next[x]] == placed)) ++next[x];
        if (next[x] == node_count) {
          state[x] = placed;
          order[count++] = x;
          --top;
        } else if (state[next[x]] == open) {
          for (std::size_t i = 0; i < node_count; ++i) order[i] = i;
          return order;
        } else {
          state[next[x]] = open;
          stack[top++] = next[x];
        }
      }
    }
    return order;
  }();
};

}  // namespace loom
