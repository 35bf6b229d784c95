#pragma once

#include <array>
#include <cstddef>

#include "loom/graph/plan/extents.hpp"

namespace loom {

// Impure element-wise calls: which nodes may be copies of one call, and which calls must be
// stored so that fusing them calls them no more often than eager mode.
template <class G>
struct plan_impure_calls : plan_extents<G> {
  using plan_extents<G>::node_count, plan_extents<G>::npos, plan_extents<G>::nodes,
      plan_extents<G>::same_shape_always;

  // An element-wise call of an impure callable.
  static constexpr bool is_impure_call(std::size_t i) {
    return nodes[i].impure && nodes[i].kind == node_kind::opaque;
  }

  // Nodes that may be copies of one value: the same op, dtype and extents on operands that
  // may be copies of one value (first_same_op says which nodes to compare). Tracing copies a
  // value into each use, and values built on an impure call or a hook are never merged
  // (node_table.hpp, copied_by_tracing), so one call's result used twice is two
  // chains of nodes; the trace ids that tell a copy from a second call are run-time values
  // (graph/impure.hpp), so the plan treats every member of a class alike. Each node's class
  // is its first member.
  static constexpr auto twin_class = [] {
    std::array<std::size_t, node_count> c{};
    for (std::size_t i = 0; i < node_count; ++i) {
      c[i] = i;
      for (std::size_t j = nodes[i].first_same_op; j < i && c[i] == i; ++j) {
        bool same = nodes[j].first_same_op == nodes[i].first_same_op;
        for (std::size_t k = 0; k < nodes[i].arity && same; ++k)
          same = c[nodes[j].args[k]] == c[nodes[i].args[k]];
        if (same) c[i] = c[j];
      }
    }
    return c;
  }();

  // The node that consumes x (values built on an impure call are never merged, so there is
  // one), or npos for an output that nothing reads.
  static constexpr std::size_t consumer(std::size_t x) {
    for (std::size_t j = x + 1; j < node_count; ++j)
      for (std::size_t k = 0; k < nodes[j].arity; ++k)
        if (nodes[j].args[k] == x) return j;
    return npos;
  }

  // An impure element-wise call runs once per element of its value, as in eager mode. Fused,
  // it is computed by the step of the value its result flows into (its root: the first
  // stored value up its chain of consumers, or the reduction that folds the chain), over that
  // step's space. So it is stored, computed once by a map step of its own shape, where
  //  - that space may be larger than its value (a broadcast would call it once per element
  //    of the space), or
  //  - its result is used more than once and the uses have different roots: tracing copies
  //    the call into each use (see graph/impure.hpp), and the copies must be computed by one
  //    step, where the later ones reuse the first one's value. Every member of the twin
  //    class is stored (one that is a distinct call then simply stores its own).
  // Repeated until nothing changes: storing a call changes the roots of calls below it.
  static constexpr void store_impure_calls(std::array<bool, node_count>& m) {
    for (bool changed = true; changed;) {
      changed = false;
      std::array<std::size_t, node_count> root{}, space{};
      for (std::size_t i = 0; i < node_count; ++i) {
        if (!is_impure_call(i)) continue;
        std::size_t x = i, c = consumer(i);
        while (!m[x] && c != npos && nodes[c].kind != node_kind::reduction) x = c, c = consumer(x);
        root[i] = m[x] || c == npos ? x : c;
        space[i] = x;
      }
      for (std::size_t i = 0; i < node_count; ++i) {
        if (!is_impure_call(i) || m[i]) continue;
        bool store = !same_shape_always(i, space[i]);
        for (std::size_t j = 0; j < node_count; ++j)
          store =
              store || (is_impure_call(j) && twin_class[j] == twin_class[i] && root[j] != root[i]);
        if (store) m[i] = changed = true;
      }
    }
  }
};

}  // namespace loom
