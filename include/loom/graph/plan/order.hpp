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

  // before[x][y]: y must be placed before x.
  using precedence = std::array<std::array<bool, node_count>, node_count>;

  static constexpr precedence constraints(bool copies_together) {
    precedence before{};
    for (std::size_t x = 0; x < node_count; ++x)
      for (std::size_t j = 0; j < node_count; ++j)
        if (j == x || (is_impure_call(x) && is_impure_call(j) && twin_class[j] == twin_class[x]))
          for (std::size_t a = 0; a < nodes[j].arity; ++a) before[x][nodes[j].args[a]] = true;
    // Calls, hooks and barriers in the order they keep: the graph's, or each one's copies
    // (its twin class) right after its first member.
    std::size_t last_alone = npos;
    auto chain = [&](std::size_t x) {
      if (last_alone != npos) before[x][last_alone] = true;
      last_alone = x;
    };
    for (std::size_t x = 0; x < node_count; ++x) {
      if (!runs_alone(nodes[x].kind)) continue;
      if (!copies_together)
        chain(x);
      else if (twin_class[x] == x)
        for (std::size_t y = x; y < node_count; ++y)
          if (runs_alone(nodes[y].kind) && twin_class[y] == x) chain(y);
    }
    return before;
  }

  // Depth first, predecessors in the graph's order (without twins, the graph's order); false
  // where the constraints meet in a cycle.
  static constexpr bool placed_in_order(const precedence& before,
                                        std::array<std::size_t, node_count>& order) {
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
          return false;
        } else {
          state[next[x]] = open;
          stack[top++] = next[x];
        }
      }
    }
    return true;
  }

  // The order in which the step table places the nodes: the graph's order, except that a
  // member of a twin class of impure calls waits until the operands of every member are
  // placed, so that one step can compute the copies of a call (store_impure_calls). A copy's
  // operand may come after the first member in the graph's order: a copy of a hook, barrier
  // or whole-tensor call is a node of its own, whose step reuses the first one's value
  // (graph/impure.hpp). Calls, hooks and barriers keep their order among themselves: the
  // graph's, or, where that order and the twins' meet in a cycle, each one's copies right
  // after its first member (an impure element-wise call on a value built on a whole-tensor
  // call, whose copies, one per use, would otherwise wait for one another on both sides of a
  // later call). Where that cycles too, the graph's order.
  static constexpr auto visit_order = [] {
    std::array<std::size_t, node_count> order{};
    bool twins = false;
    for (std::size_t i = 0; i < node_count; ++i)
      twins = twins || (is_impure_call(i) && twin_class[i] != i);
    if (twins &&
        (placed_in_order(constraints(false), order) || placed_in_order(constraints(true), order)))
      return order;
    for (std::size_t i = 0; i < node_count; ++i) order[i] = i;
    return order;
  }();
};

}  // namespace loom
