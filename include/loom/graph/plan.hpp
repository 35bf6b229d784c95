#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "loom/graph/node_table.hpp"

namespace loom {

// Why a fusion group ends: what kept the next step out of it.
enum class group_end {
  end_of_graph,
  call,                // the next node is a whole-tensor opaque call, a hook or a barrier
  after_call,          // this group is a call, which is never fused
  matmul,              // the next node is a GEMM, which starts a group of its own
  strided_reduction,   // a reduction over axes that are not the trailing ones runs alone
  other_axes,          // the next reduction splits the rows at another axis
  other_space,         // the next values have another iteration space
  reads_through_view,  // the next step reads a value of this group through a view
};

constexpr std::string_view group_end_text(group_end e) {
  switch (e) {
    case group_end::end_of_graph:
      return "end of graph";
    case group_end::call:
      return "the next node is an opaque whole-tensor call, a hook or a fusion barrier (a "
             "barrier: its inputs are materialised)";
    case group_end::after_call:
      return "a call runs alone, between fused groups";
    case group_end::matmul:
      return "the next node is a matmul, which runs as a GEMM with its consumers as epilogue";
    case group_end::strided_reduction:
      return "a reduction over axes other than the trailing ones runs as a pass of its own";
    case group_end::other_axes:
      return "the next reduction is over other axes (other rows)";
    case group_end::other_space:
      return "the next values have another iteration space (other extents, or dynamic extents "
             "not known to be equal)";
    case group_end::reads_through_view:
      return "the next step reads a value this group writes through a view or a broadcast "
             "across rows, so it must wait until the value is complete";
  }
  return "?";
}

// The fusion plan of a graph, computed at compile time.
//
// 1. Materialised values: the outputs, every reduction, matmul, call, and the operands that
//    a GEMM, a call or a reshape must read from memory. Everything else is element-wise and
//    recomputed in registers wherever it is needed.
// 2. Steps, in topological order: each materialised value is produced by one step; values of
//    one iteration space share a map step (a multi-output pass) when their inputs allow.
// 3. Groups: consecutive steps that split into the same rows run as one pass over the rows:
//    a softmax's max, sum and scaling, or a GEMM and its epilogue, one block of rows at a
//    time while it is in cache. Each group is one loop nest on the CPU, one kernel on a GPU.
template <class G>
struct fusion_plan {
  static constexpr std::size_t node_count = G::node_count;
  static constexpr std::size_t output_count = G::output_count;
  static constexpr std::size_t npos = ~std::size_t(0);
  static constexpr const auto& nodes = node_table<G>;

  static constexpr bool same_dims(std::size_t ra,
                                  const std::array<std::size_t, max_rank>& a,
                                  std::size_t rb,
                                  const std::array<std::size_t, max_rank>& b) {
    if (ra != rb) return false;
    for (std::size_t d = 0; d < ra; ++d)
      if (a[d] != b[d]) return false;
    return true;
  }

  static constexpr bool computable(std::size_t i) { return traits_of(nodes[i].kind).in_registers; }

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
          } else if (traits_of(n.kind).same_as_operand) {
            e = s[a][d];
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

  // An element-wise call of an impure callable.
  static constexpr bool is_impure_call(std::size_t i) {
    return nodes[i].impure && nodes[i].kind == node_kind::opaque;
  }
  // Whole-tensor calls, hooks and barriers: steps of their own, run between fused passes.
  static constexpr bool runs_alone(node_kind k) { return traits_of(k).step == step_kind::call; }

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
