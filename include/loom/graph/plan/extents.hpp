#pragma once

#include <array>
#include <cstddef>

#include "loom/graph/plan/nodes.hpp"

namespace loom {

// The first pass: names for every node's extents, so that the later ones can tell which
// values have equal shapes for every input (a map step's loop stores only values of one
// shape) and which likely do (a group with rows checks the rest on each call).
template <class G>
struct plan_extents : plan_nodes<G> {
  using plan_nodes<G>::node_count, plan_nodes<G>::npos, plan_nodes<G>::nodes;

  // Every node's extents with each dynamic extent named by where it comes from: values
  // whose names agree have equal shapes at run time, whatever the input. Static extents
  // alone cannot tell transpose(x) from x when both are [?, ?].
  //
  // With `unify`, extents that meet in a broadcast are named alike too (a union-find over
  // the names): layer_norm(x) * gamma with x [?, ?] and gamma [?] is then x's shape. They
  // are equal unless one of them is 1 at run time, so this is a guess: grouping steps may
  // rely on it, because a group checks on each call that its steps' shapes split into the
  // same rows (and runs them one after another where they do not), but sharing one loop
  // between stored values may not.
  static constexpr std::size_t fresh_base = std::size_t(1) << 62;
  static constexpr std::size_t fresh_extent(std::size_t node, std::size_t axis) {
    return fresh_base + node * max_rank + axis;
  }
  using extent_names = std::array<std::array<std::size_t, max_rank>, node_count>;
  static constexpr extent_names name_extents(bool unify) {
    extent_names s{};
    std::array<std::size_t, node_count * max_rank> parent{};
    for (auto& p : parent) p = npos;
    auto find = [&](std::size_t x) {
      while (x >= fresh_base && parent[x - fresh_base] != npos) x = parent[x - fresh_base];
      return x;
    };
    auto unite = [&](std::size_t a, std::size_t b) {
      a = find(a), b = find(b);
      if (a == b) return;
      if (a >= fresh_base)
        parent[a - fresh_base] = b;
      else if (b >= fresh_base)
        parent[b - fresh_base] = a;
    };
    for (std::size_t i = 0; i < node_count; ++i) {
      const node_info& n = nodes[i];
      const std::size_t a = n.args[0], b = n.args[1];
      for (std::size_t d = 0; d < n.rank; ++d) {
        // A dynamic extent is a name of its own, or that of the first input axis named alike
        // (loom::dims; the call checks they agree).
        std::size_t e = n.dims[d] != dyn ? n.dims[d] : fresh_extent(i, d);
        if (n.kind == node_kind::input && n.named_as[d] != npos) e = fresh_base + n.named_as[d];
        if (n.kind == node_kind::elementwise || n.kind == node_kind::opaque) {
          // Broadcasting: the one name the operands agree on, ignoring extents of 1.
          std::size_t agreed = 0;
          bool conflict = false;
          for (std::size_t j = 0; j < n.arity; ++j) {
            const node_info& arg = nodes[n.args[j]];
            if (d + arg.rank < n.rank) continue;
            const std::size_t x = find(s[n.args[j]][d + arg.rank - n.rank]);
            if (x == 1) continue;
            if (unify && agreed != 0) unite(x, agreed);
            conflict = conflict || (agreed != 0 && agreed != x);
            agreed = agreed == 0 ? x : agreed;
          }
          if (n.dims[d] == dyn && agreed != 0 && (unify || !conflict)) e = find(agreed);
        } else if (n.dims[d] == dyn) {
          if (n.kind == node_kind::view && n.source_axis[d] != ops::new_extent) {
            e = s[a][n.source_axis[d]];
          } else if (n.kind == node_kind::view && n.slice.step != 0) {
            // The name of an earlier slice of the same extent to the same length, if any.
            for (std::size_t j = 0; j < i; ++j) {
              const node_info& other = nodes[j];
              if (other.kind == node_kind::view && other.slice.step != 0 && other.rank == n.rank &&
                  other.source_axis[d] == ops::new_extent &&
                  find(s[other.args[0]][d]) == find(s[a][d]) &&
                  ops::same_slice_extent(other.slice, n.slice)) {
                e = s[j][d];
                break;
              }
            }
          } else if (traits_of(n.kind).same_as_operand) {
            e = s[a][d];
          } else if (n.same_shape_as != npos) {
            e = s[n.args[n.same_shape_as]][d];
          } else if (n.kind == node_kind::reduction) {
            // The d-th extent kept (or kept as 1) is that axis of the operand.
            std::size_t kept = 0;
            for (std::size_t k = 0; k < nodes[a].rank; ++k) {
              const bool reduced = n.reduced_axes >> k & 1u;
              if (n.rank == nodes[a].rank ? k == d : !reduced && kept++ == d) e = s[a][k];
            }
          } else if (n.kind == node_kind::matmul) {
            const std::size_t ra = nodes[a].rank, rb = nodes[b].rank;
            if (d == n.rank - 1)
              e = s[b][rb - 1];
            else if (d == n.rank - 2)
              e = s[a][ra - 2];
            else if (ra == 3 && rb == 3 && nodes[a].dims[0] != 1 && nodes[b].dims[0] != 1 &&
                     find(s[a][0]) != find(s[b][0]))
              // Two batches of different names broadcast: either may be 1 at run time.
              // Named alike only as a guess, as element-wise operands are.
              e = unify ? (unite(s[a][0], s[b][0]), find(s[a][0])) : e;
            else if (ra == 3 && nodes[a].dims[0] != 1)
              e = s[a][0];
            else if (rb == 3)
              e = s[b][0];
          }
        }
        s[i][d] = e;
      }
    }
    for (auto& dims : s)
      for (auto& e : dims) e = find(e);
    return s;
  }
  static constexpr extent_names symbolic = name_extents(false);
  static constexpr extent_names likely = name_extents(true);

  static constexpr bool same_names(const extent_names& s, std::size_t x, std::size_t y) {
    if (nodes[x].rank != nodes[y].rank) return false;
    for (std::size_t d = 0; d < nodes[x].rank; ++d)
      if (s[x][d] != s[y][d]) return false;
    return true;
  }
  static constexpr bool same_shape_always(std::size_t x, std::size_t y) {
    return same_names(symbolic, x, y);
  }
  static constexpr bool same_shape_likely(std::size_t x, std::size_t y) {
    return same_names(likely, x, y);
  }
};

}  // namespace loom
