#pragma once

#include <array>
#include <cstddef>

#include "loom/graph/plan/impure_calls.hpp"

namespace loom {

// Which values are materialised (stored in memory) and which are recomputed in registers
// wherever they are needed.
template <class G>
struct plan_materialize : plan_impure_calls<G> {
  using plan_impure_calls<G>::node_count, plan_impure_calls<G>::nodes,
      plan_impure_calls<G>::same_dims, plan_impure_calls<G>::computable,
      plan_impure_calls<G>::runs_alone, plan_impure_calls<G>::store_impure_calls;

  // 1. Materialised values.
  static constexpr auto materialized = [] {
    std::array<bool, node_count> m{};
    for (std::size_t o : G::outputs) m[o] = true;
    auto plain = [&](std::size_t a) {
      return nodes[a].kind == node_kind::input || m[a];
    };
    // Element-wise values computed from a reduction: a softmax's max with its infinities
    // replaced, a layer norm's rsqrt(var + eps). Where a larger pass reads one, it is
    // materialised (one element per row) instead of recomputed for every element it is
    // broadcast to.
    std::array<bool, node_count> after_reduction{};
    for (std::size_t i = 0; i < node_count; ++i) {
      const node_kind k = nodes[i].kind;
      after_reduction[i] = k == node_kind::reduction;
      for (std::size_t j = 0; j < nodes[i].arity; ++j) {
        const std::size_t a = nodes[i].args[j];
        after_reduction[i] = after_reduction[i] || (computable(i) && after_reduction[a]);
        if (computable(i) && computable(a) && after_reduction[a] &&
            !same_dims(nodes[a].rank, nodes[a].dims, nodes[i].rank, nodes[i].dims))
          m[a] = true;
      }
      if (traits_of(k).own_step) m[i] = true;
      for (std::size_t j = 0; j < nodes[i].arity; ++j) {
        const std::size_t a = nodes[i].args[j];
        if (k == node_kind::matmul) {
          // A GEMM reads a matrix or its transpose in place; anything else is copied first.
          const bool transposed = nodes[a].kind == node_kind::view && nodes[a].swaps_last_axes &&
                                  plain(nodes[a].args[0]);
          if (!plain(a) && !transposed) m[a] = true;
        } else if (runs_alone(k)) {
          if (!plain(a)) m[a] = true;
        } else if (k == node_kind::view) {
          if (computable(a) || (nodes[i].reads_contiguous && !plain(a))) m[a] = true;
        }
      }
    }
    store_impure_calls(m);
    return m;
  }();

  static constexpr bool plain(std::size_t i) {
    return nodes[i].kind == node_kind::input || materialized[i];
  }
  // The buffer a value is read from: itself, or for a view the value it looks into.
  static constexpr std::size_t base_of(std::size_t i) {
    while (!plain(i) && nodes[i].kind == node_kind::view) i = nodes[i].args[0];
    return i;
  }
  static constexpr bool is_leaf(std::size_t i) {
    return plain(i) || nodes[i].kind == node_kind::view;
  }
};

}  // namespace loom
