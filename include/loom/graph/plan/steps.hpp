#pragma once

#include <array>
#include <cstddef>

#include "loom/graph/plan/order.hpp"

namespace loom {

// The steps: one per materialised value (values of one iteration space may share a map
// step), in topological order.
template <class G>
struct plan_steps : plan_order<G> {
  using plan_order<G>::node_count, plan_order<G>::npos, plan_order<G>::nodes,
      plan_order<G>::materialized, plan_order<G>::is_leaf, plan_order<G>::base_of,
      plan_order<G>::leaves_of, plan_order<G>::twin_class, plan_order<G>::same_shape_always,
      plan_order<G>::visit_order;

  struct step_info {
    step_kind kind;
    std::size_t node;  // the first value the step produces
    std::size_t rank;  // the iteration space (static extents)
    std::array<std::size_t, max_rank> dims;
    std::size_t split;  // reduce steps: the first reduced axis, when the reduced axes trail
  };

  static constexpr std::size_t reduce_split(std::size_t operand_rank, unsigned mask) {
    std::size_t p = operand_rank;
    while (p > 0 && (mask >> (p - 1) & 1u)) --p;
    return (mask >> p) == ((1u << (operand_rank - p)) - 1) && (mask & ((1u << p) - 1)) == 0 ? p
                                                                                            : npos;
  }

  struct step_table {
    std::array<step_info, node_count> steps{};
    std::size_t count = 0;
    std::array<std::size_t, node_count> step_of{};
  };

  // 2. Steps.
  static constexpr step_table table = [] {
    step_table t;
    for (auto& s : t.step_of) s = npos;
    std::size_t last_call = npos;
    for (const std::size_t i : visit_order) {
      if (!materialized[i] || nodes[i].kind == node_kind::input) continue;
      const node_kind k = nodes[i].kind;
      std::array<bool, node_count> root{};
      if (k == node_kind::reduction)
        root[nodes[i].args[0]] = !is_leaf(nodes[i].args[0]);
      else if (!traits_of(k).own_step)
        root[i] = true;
      // The latest step whose result this one reads, and the latest it reads through a view:
      // a view reads other elements than the one being computed, so a value read that way
      // must be complete, written by an earlier step.
      std::size_t after = npos, after_view = npos;
      auto later = [](std::size_t a, std::size_t b) {
        return a == npos || (b != npos && b > a) ? b : a;
      };
      auto needs = [&](std::size_t x) {
        const std::size_t b = base_of(x);
        after = later(after, t.step_of[b]);
        if (b != x) after_view = later(after_view, t.step_of[b]);
      };
      const auto leaf = leaves_of(root);
      for (std::size_t x = 0; x < node_count; ++x)
        if (leaf[x] && x != i) needs(x);
      // A view that is itself stored reads its operand through the index map.
      if (leaf[i] && k == node_kind::view) {
        const std::size_t b = base_of(nodes[i].args[0]);
        after = later(after, t.step_of[b]);
        after_view = later(after_view, t.step_of[b]);
      }
      for (std::size_t j = 0; j < nodes[i].arity; ++j)
        if (!root[i]) needs(nodes[i].args[j]);
      if (traits_of(k).own_step) {
        step_info s{};
        s.node = i;
        s.kind = traits_of(k).step;
        if (k == node_kind::reduction) {
          const node_info& operand = nodes[nodes[i].args[0]];
          s.rank = operand.rank;
          s.dims = operand.dims;
          s.split = reduce_split(operand.rank, nodes[i].reduced_axes);
        } else {
          s.rank = nodes[i].rank;
          s.dims = nodes[i].dims;
          s.split = k == node_kind::matmul ? nodes[i].rank - 1 : npos;
        }
        if (s.kind == step_kind::call) last_call = t.count;
        t.step_of[i] = t.count;
        t.steps[t.count++] = s;
        continue;
      }
      // A map value joins the first map step of its iteration space (the same shape for
      // every input, see `symbolic`) that comes after what it reads (it may read values of that
      // step itself: they are computed in registers there) and after the last call, so side effects
      // keep their order.
      // A stored impure call joins the step of the first member of its twin class, of which it
      // may be a copy (store_impure_calls), where that step comes after what it reads.
      const std::size_t first = twin_class[i];
      std::size_t join = first != i && nodes[i].impure ? t.step_of[first] : npos;
      if (join != npos &&
          ((after != npos && join < after) || (after_view != npos && join <= after_view)))
        join = npos;
      for (std::size_t s = 0; s < t.count && join == npos; ++s) {
        const step_info& c = t.steps[s];
        if (c.kind == step_kind::map && (after == npos || s >= after) &&
            (after_view == npos || s > after_view) && (last_call == npos || s > last_call) &&
            same_shape_always(c.node, i))
          join = s;
      }
      if (join == npos) {
        join = t.count++;
        t.steps[join] = step_info{step_kind::map, i, nodes[i].rank, nodes[i].dims, npos};
      }
      t.step_of[i] = join;
    }
    return t;
  }();

  static constexpr std::size_t step_count = table.count;
  static constexpr const auto& steps = table.steps;
  static constexpr const auto& step_of = table.step_of;
};

}  // namespace loom
