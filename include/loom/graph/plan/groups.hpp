#pragma once

#include <array>
#include <cstddef>

#include "loom/graph/plan/group_end.hpp"
#include "loom/graph/plan/per_step.hpp"

namespace loom {

// The groups: consecutive steps that split into the same rows, run as one pass.
template <class G>
struct plan_groups : plan_per_step<G> {
  using plan_per_step<G>::node_count, plan_per_step<G>::npos, plan_per_step<G>::nodes,
      plan_per_step<G>::same_dims, plan_per_step<G>::base_of, plan_per_step<G>::same_shape_always,
      plan_per_step<G>::same_shape_likely, plan_per_step<G>::steps, plan_per_step<G>::step_of,
      plan_per_step<G>::step_count, plan_per_step<G>::per_step,
      typename plan_per_step<G>::step_info;

  // 3. Groups.
  struct group_info {
    std::size_t first_step, step_count;
    bool is_call;
    std::size_t split;  // rows are the axes before `split`; npos: not yet fixed (maps only)
    std::size_t rank;   // the full iteration space
    std::array<std::size_t, max_rank> dims;
    group_end end;
    std::size_t end_node;  // the node whose step could not join (npos at the end)
  };
  struct group_table {
    std::array<group_info, node_count + 1> groups{};
    std::size_t count = 0;
  };

  // The extents of a group's rows: the full space with the row axes kept and the rest 1
  // (keepdims), or only the row axes.
  static constexpr bool is_row_space(const group_info& g,
                                     std::size_t rank,
                                     const std::array<std::size_t, max_rank>& dims,
                                     bool keepdims) {
    if (g.split == npos) return false;
    if (rank != (keepdims ? g.rank : g.split)) return false;
    for (std::size_t d = 0; d < rank; ++d)
      if (dims[d] != (d < g.split ? g.dims[d] : 1)) return false;
    return true;
  }

  // A step may join a group only if each value it reads from the group's earlier steps is
  // complete for a row once that row is done: read in place, never through a view.
  static constexpr bool reads_rows_only(const group_info& g, std::size_t s, bool full_space) {
    for (std::size_t x = 0; x < node_count; ++x) {
      if (!per_step.loads[s][x]) continue;
      // A view this step stores reads its operand through the view.
      if (per_step.stores[s][x] && nodes[x].kind == node_kind::view) {
        const std::size_t through = base_of(nodes[x].args[0]);
        if (step_of[through] != npos && step_of[through] >= g.first_step) return false;
        continue;
      }
      const std::size_t b = base_of(x);
      if (step_of[b] == npos || step_of[b] < g.first_step) continue;
      if (b != x) return false;
      const node_info& v = nodes[x];
      const bool ok = full_space ? same_dims(v.rank, v.dims, g.rank, g.dims) ||
                                       is_row_space(g, v.rank, v.dims, true)
                                 : same_dims(v.rank, v.dims, steps[s].rank, steps[s].dims);
      if (!ok) return false;
    }
    return true;
  }

  // The node whose shape is step s's iteration space.
  static constexpr std::size_t space_node(std::size_t s) {
    return steps[s].kind == step_kind::reduce ? nodes[steps[s].node].args[0] : steps[s].node;
  }

  static constexpr group_end join_refusal(const group_info& g, std::size_t s) {
    const step_info& st = steps[s];
    if (g.is_call) return group_end::after_call;
    if (steps[g.first_step].kind == step_kind::reduce && g.split == npos)
      return group_end::strided_reduction;
    if (st.kind == step_kind::call) return group_end::call;
    if (st.kind == step_kind::matmul) return group_end::matmul;
    // A group with rows may take steps whose shapes are likely the same: it checks on each
    // call (see `likely`). A group of map steps shares their loop, so its shapes must agree.
    const bool full =
        same_shape_always(space_node(g.first_step), space_node(s)) ||
        (g.split != npos && same_shape_likely(space_node(g.first_step), space_node(s)));
    if (st.kind == step_kind::reduce) {
      if (st.split == npos) return group_end::strided_reduction;
      if (!full) return group_end::other_space;
      if (g.split != npos && g.split != st.split) return group_end::other_axes;
    } else if (!full && !is_row_space(g, st.rank, st.dims, true) &&
               !is_row_space(g, st.rank, st.dims, false)) {
      return group_end::other_space;
    }
    if (!reads_rows_only(g, s, full)) return group_end::reads_through_view;
    return group_end::end_of_graph;  // no refusal: the step joins
  }

  static constexpr group_table group_tab = [] {
    group_table t;
    for (std::size_t s = 0; s != step_count; ++s) {
      if (t.count > 0) {
        group_info& g = t.groups[t.count - 1];
        const group_end refusal = join_refusal(g, s);
        if (refusal == group_end::end_of_graph) {
          ++g.step_count;
          if (steps[s].kind == step_kind::reduce) g.split = steps[s].split;
          continue;
        }
        g.end = refusal;
        g.end_node = steps[s].node;
      }
      const step_info& st = steps[s];
      // A map group fixes no rows yet; a strided reduction (split npos) stays alone.
      t.groups[t.count++] = group_info{s,
                                       1,
                                       st.kind == step_kind::call,
                                       st.split,
                                       st.rank,
                                       st.dims,
                                       group_end::end_of_graph,
                                       npos};
    }
    return t;
  }();

  static constexpr std::size_t group_count = group_tab.count;
  static constexpr const auto& groups = group_tab.groups;

  // Passes over memory that loom runs itself (CPU loop nests, GPU kernels); calls, hooks and
  // barriers are groups too but no pass of loom's.
  static constexpr std::size_t kernel_count = [] {
    std::size_t n = 0;
    for (std::size_t g = 0; g != group_count; ++g) n += !groups[g].is_call;
    return n;
  }();

  static constexpr bool group_has_impure(std::size_t g) {
    for (std::size_t s = groups[g].first_step; s < groups[g].first_step + groups[g].step_count; ++s)
      for (std::size_t i = 0; i < node_count; ++i)
        if (per_step.computes[s][i] && nodes[i].impure) return true;
    return false;
  }

  static constexpr std::size_t group_of_step(std::size_t s) {
    for (std::size_t g = 0; g != group_count; ++g)
      if (s >= groups[g].first_step && s < groups[g].first_step + groups[g].step_count) return g;
    return npos;
  }

  // Where and why the graph first stops being one fused pass (npos when it never does): a
  // call is a break even when it is the whole graph.
  static constexpr std::size_t first_break = groups[0].is_call ? steps[0].node
                                             : group_count > 1 ? groups[0].end_node
                                                               : npos;
  static constexpr group_end first_break_reason =
      groups[0].is_call ? group_end::call : groups[0].end;
};

}  // namespace loom
