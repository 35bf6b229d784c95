#pragma once

#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/backends/common/lanes.hpp"
#include "loom/backends/common/loop_nest.hpp"
#include "loom/graph/impure.hpp"
#include "loom/graph/plan.hpp"

namespace loom::common {

// What step `Step` reads from memory, computes in registers and stores: the plan's, on
// every backend. The CPU's stashes (stash.hpp) trade some computations for loads.
template <class G, std::size_t Step>
struct plan_reads {
  using plan = fusion_plan<G>;
  static constexpr std::array<bool, G::node_count> loads = plan::per_step.loads[Step];
  static constexpr std::array<bool, G::node_count> computes = plan::per_step.computes[Step];
  static constexpr std::array<bool, G::node_count> stores = plan::per_step.stores[Step];
  // A value a reduce step also stores for a later step of its rows (npos: none), the value
  // whose buffer holds it, and the values a step reads back from such stores (contiguous in
  // its space).
  static constexpr std::size_t stash = plan::npos;
  static constexpr std::size_t stash_into = plan::npos;
  static constexpr std::array<bool, G::node_count> from_stash{};
};

// The nodes step `Step` evaluates per element, in topological order: the values it reads
// from memory and the ones it computes in registers.
template <class G, std::size_t Step, class Reads = plan_reads<G, Step>>
struct step_nodes {
  static constexpr bool used(std::size_t i) { return Reads::loads[i] || Reads::computes[i]; }
  static constexpr std::size_t count = [] {
    std::size_t n = 0;
    for (std::size_t i = 0; i < G::node_count; ++i) n += used(i);
    return n;
  }();
  static constexpr auto list = [] {
    std::array<std::size_t, count> l{};
    std::size_t n = 0;
    for (std::size_t i = 0; i < G::node_count; ++i)
      if (used(i)) l[n++] = i;
    return l;
  }();
  // The values the step reads from memory.
  static constexpr std::size_t load_count = [] {
    std::size_t n = 0;
    for (bool b : Reads::loads) n += b;
    return n;
  }();
  static constexpr auto loads = [] {
    std::array<std::size_t, load_count> l{};
    std::size_t n = 0;
    for (std::size_t i = 0; i < G::node_count; ++i)
      if (Reads::loads[i]) l[n++] = i;
    return l;
  }();
  // The materialised values a map step stores.
  static constexpr std::size_t store_count = [] {
    std::size_t n = 0;
    for (bool b : Reads::stores) n += b;
    return n;
  }();
  static constexpr auto stores = [] {
    std::array<std::size_t, store_count> l{};
    std::size_t n = 0;
    for (std::size_t i = 0; i < G::node_count; ++i)
      if (Reads::stores[i]) l[n++] = i;
    return l;
  }();
};

// Computes `Lanes::width` consecutive elements of every node step `Step` needs, each node
// once, in topological order. Values stay in locals (registers); a map step then stores its
// outputs, a reduce step folds the value of its operand.
template <class G, std::size_t Step, class Lanes, bool Dense, class Reads = plan_reads<G, Step>>
struct evaluate {
  static_assert(lanes<Lanes>,
                "loom: a backend's lanes must give width, value<T>, load, splat, store, convert "
                "and apply as backends/common/lanes.hpp says (the lanes type is named below)");
  using nodes = step_nodes<G, Step, Reads>;
  using plan = fusion_plan<G>;

  // One block per node the step loads or computes (nodes::list), not per node of the graph:
  // a step of a large graph (an optimizer's update of many parameters, a training step)
  // would otherwise carry a frame of every node's block, and GCC kept each value it wrote
  // there in memory, not in registers. at<I>(v) is node I's block.
  template <std::size_t... K>
  static auto make_values(std::index_sequence<K...>) -> std::tuple<
      typename Lanes::template value<typename node_t<G, nodes::list[K]>::value_type>...>;
  using values_type = decltype(make_values(std::make_index_sequence<nodes::count>{}));

  template <std::size_t I>
  static constexpr std::size_t slot = [] {
    for (std::size_t k = 0; k < nodes::count; ++k)
      if (nodes::list[k] == I) return k;
    return nodes::count;  // not a value of this step: at<I> fails to compile
  }();
  template <std::size_t I, class V>
  LOOM_HD_INLINE static auto& at(V& v) {
    return std::get<slot<I>>(v);
  }

  LOOM_NO_EXEC_CHECK
  template <std::size_t I>
  LOOM_HD_INLINE static void node(const G& g,
                                  const row_sources<G::node_count>& src,
                                  std::size_t j,
                                  values_type& v) {
    using N = node_t<G, I>;
    using T = typename N::value_type;
    const auto& n = node_at<I>(g.nodes);
    constexpr node_kind kind = kind_of<N>();
    if constexpr (Reads::loads[I]) {
      const auto* p = static_cast<const T*>(src.data[I]);
      constexpr int step = static_step<I>();
      if constexpr (Dense || step == 1)
        at<I>(v) = Lanes::load(p + j, 1);
      else if constexpr (step == 0)
        at<I>(v) = Lanes::splat(*p);
      else
        at<I>(v) = Lanes::load(p + std::ptrdiff_t(j) * src.step[I], src.step[I]);
    } else if constexpr (kind == node_kind::scalar) {
      at<I>(v) = Lanes::splat(n.op.value);
    } else if constexpr (kind == node_kind::literal) {
      at<I>(v) = Lanes::splat(N::op_type::value);
    } else if constexpr (divides_by_row_value<I>()) {
      divide_by_row_value<I>(src, v);
    } else if constexpr (impure_twins<I>().size() > 0) {
      // Another copy of this impure call was computed already: reuse its value.
      if (n.op.alias != n.op.no_alias) {
        [&]<std::size_t... K>(std::index_sequence<K...>) {
          ((n.op.alias == impure_twins<I>()[K] ? (void)(at<I>(v) = at<impure_twins<I>()[K]>(v))
                                               : void()),
           ...);
        }
        (std::make_index_sequence<impure_twins<I>().size()>{});
      } else {
        compute<I>(n, v);
      }
    } else {
      compute<I>(n, v);
    }
  }

  // The distance between consecutive elements of value I along the walk's rows, where the
  // static extents fix it: 0 for a rank-0 value or one with extent 1 on the last axis of the
  // space (a per-row value), 1 for a contiguous value with the space's last extent; -1 where only
  // the run-time layout tells. Known steps spare a branch per value and block in the mixed passes
  // of softmax and layer norm. A contiguous value with the space's own shape for every input
  // (dynamic extents named alike, see plan_extents::symbolic) steps by 1 whatever the extents
  // are: its walk is the space's, with the same axes of extent 1 left out. A model over
  // dynamic extents then needs one version of its loop, not a dense and a strided one.
  template <std::size_t I>
  static constexpr int static_step() {
    constexpr auto& step = plan::steps[Step];
    const bool walks_in_order = step.kind == step_kind::map || step.split != plan::npos;
    const auto& n = plan::nodes[I];
    if (!walks_in_order || step.rank == 0) return -1;
    if (n.rank == 0) return 0;  // a rank-0 value (a scalar input) is every element's
    const int row_step = row_step_of_extents(step.dims[step.rank - 1], n.dims[n.rank - 1]);
    const bool contiguous = (plan::plain(I) || Reads::from_stash[I]) && !Reads::stores[I];
    // The value whose shape the walk covers: a map's values, or a reduction's operand.
    const std::size_t space = step.kind == step_kind::map      ? step.node
                              : step.kind == step_kind::reduce ? plan::nodes[step.node].args[0]
                                                               : plan::npos;
    if (contiguous && space != plan::npos && plan::same_shape_always(space, I)) return 1;
    return row_step == 1 && !contiguous ? -1 : row_step;
  }

  // Whether the static extents fix the step of every value the step loads. Then the
  // run-time `dense` flag of its loop nest changes nothing, and one version of the loop
  // (Dense = false) serves: half the code to generate.
  static constexpr bool steps_known() {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return ((!Reads::loads[I] || static_step<I>() >= 0) && ...);
    }
    (std::make_index_sequence<G::node_count>{});
  }

  // x / d where d is one loaded value per row (softmax's sum): divide_by_one_value.
  template <std::size_t I>
  static constexpr bool divides_by_row_value() {
    using N = node_t<G, I>;
    if constexpr (std::is_same_v<typename N::op_type, ops::div>) {
      using T = typename N::value_type;
      constexpr std::size_t d = N::args[1];
      return std::is_floating_point_v<T> && std::is_same_v<typename node_t<G, d>::value_type, T> &&
             std::is_same_v<typename node_t<G, N::args[0]>::value_type, T> && Reads::loads[d] &&
             static_step<d>() == 0;
    } else {
      return false;
    }
  }

  LOOM_NO_EXEC_CHECK
  template <std::size_t I>
  LOOM_HD_INLINE static void divide_by_row_value(const row_sources<G::node_count>& src,
                                                 values_type& v) {
    using N = node_t<G, I>;
    using T = typename N::value_type;
    constexpr std::size_t x = N::args[0], d = N::args[1];
    const T divisor = *static_cast<const T*>(src.data[d]);
    at<I>(v) = divide_by_one_value<Lanes>(at<x>(v), divisor);
  }

  // Earlier nodes of this step with the same impure op as node I: the nodes
  // link_reused_impure_nodes may have linked it to. None for a pure node, without comparing
  // its op with every earlier node's (node<I> asks for every node of every step).
  template <std::size_t I>
  static constexpr auto impure_twins() {
    if constexpr (!loom::detail::is_impure_node<G, I>()) {
      return std::array<std::size_t, 0>{};
    } else {
      constexpr std::size_t count = [] {
        std::size_t c = 0;
        for (std::size_t k = 0; k < I; ++k) c += twin<I>(k);
        return c;
      }();
      std::array<std::size_t, count> list{};
      std::size_t c = 0;
      for (std::size_t k = 0; k < I; ++k)
        if (twin<I>(k)) list[c++] = k;
      return list;
    }
  }

  template <std::size_t I>
  static constexpr bool twin(std::size_t k) {
    // A copy has the call's element type too: one callable may also be called on values of
    // another type (an int tensor and a float one), and those calls are never copies.
    constexpr auto same_op = []<std::size_t... K>(std::index_sequence<K...>) {
      return std::array<bool, sizeof...(K)>{(
          std::is_same_v<typename node_t<G, K>::op_type, typename node_t<G, I>::op_type> &&
          std::is_same_v<typename node_t<G, K>::value_type, typename node_t<G, I>::value_type>)...};
    }
    (std::make_index_sequence<I>{});
    return Reads::computes[k] && same_op[k];
  }

  LOOM_NO_EXEC_CHECK
  template <std::size_t I, class Node>
  LOOM_HD_INLINE static void compute(const Node& n, values_type& v) {
    using N = node_t<G, I>;
    using T = typename N::value_type;
    [&]<std::size_t... A>(std::index_sequence<A...>) {
      using sig =
          typename N::op_type::template signature<typename node_t<G, N::args[A]>::value_type...>;
      apply_signature<T, rounds_in_registers<I>(), typename node_t<G, N::args[A]>::value_type...>(
          n.op, sig{}, at<I>(v), at<N::args[A]>(v)...);
    }
    (std::make_index_sequence<N::arity>{});
  }

  // Whether node I's result is rounded when it is computed: a half-precision one, unless
  // the step only stores it (the store rounds it). Asked of half-precision nodes alone, so
  // that other models do not pay for only_stored's walk at compile time.
  template <std::size_t I>
  static constexpr bool rounds_in_registers() {
    if constexpr (half_precision<typename node_t<G, I>::value_type>)
      return !only_stored<I>();
    else
      return false;
  }

  // Whether this step only stores node I's block: no node it computes reads it, it is not
  // the value a reduce step folds, and it is not an impure call (whose copies read its
  // block).
  template <std::size_t I>
  static constexpr bool only_stored() {
    const auto& step = plan::steps[Step];
    // No return before the loop: nvcc warns that a loop after a return it can decide is
    // not reachable.
    bool read = false;
    for (std::size_t j = 0; j < G::node_count; ++j)
      for (std::size_t a = 0; a < plan::nodes[j].arity && Reads::computes[j]; ++a)
        read = read || plan::nodes[j].args[a] == I;
    return Reads::stores[I] && !plan::nodes[I].impure && !read &&
           !(step.kind == step_kind::reduce && plan::nodes[step.node].args[0] == I);
  }

  template <class Op>
  static constexpr bool returns_an_operand() {
    if constexpr (requires { Op::returns_an_operand; })
      return Op::returns_an_operand;
    else
      return false;
  }

  LOOM_NO_EXEC_CHECK
  template <class T,
            bool Round,
            class... From,
            class Op,
            class R,
            class... Operand,
            class Out,
            class... Arg>
  LOOM_HD_INLINE static void apply_signature(const Op& op,
                                             signature<R, Operand...>,
                                             Out& out,
                                             const Arg&... arg) {
    out = Lanes::template apply<T>(op, as_operand<Lanes, Operand, From>(arg)...);
    // A half-precision result is rounded at once, as eager code rounds it when it stores it:
    // then a value is the same wherever it is read (in registers, or from the buffer a
    // reduction or an earlier step wrote), and the result does not depend on the plan
    // (Round: rounds_in_registers).
    if constexpr (Round && !returns_an_operand<Op>()) Lanes::template round<T>(out);
  }

  LOOM_NO_EXEC_CHECK
  LOOM_HD_INLINE static void values(const G& g,
                                    const row_sources<G::node_count>& src,
                                    std::size_t j,
                                    values_type& v) {
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      (node<nodes::list[K]>(g, src, j, v), ...);
    }
    (std::make_index_sequence<nodes::count>{});
  }

  // values() for a caller that already holds some of the step's loaded values in `v`
  // (`preloaded[I]`): a GPU thread keeps a row's values in registers between steps.
  LOOM_NO_EXEC_CHECK
  template <std::array<bool, G::node_count> Preloaded>
  LOOM_HD_INLINE static void values_after(const G& g,
                                          const row_sources<G::node_count>& src,
                                          std::size_t j,
                                          values_type& v) {
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      (
          [&] {
            if constexpr (!Preloaded[nodes::list[K]]) node<nodes::list[K]>(g, src, j, v);
          }(),
          ...);
    }
    (std::make_index_sequence<nodes::count>{});
  }

  // A map step: computes the block at `j` and stores it at `out[k] + j` for each output.
  LOOM_NO_EXEC_CHECK
  LOOM_HD_INLINE static void run(const G& g,
                                 const row_sources<G::node_count>& src,
                                 std::size_t j,
                                 const std::array<void*, nodes::store_count>& out) {
    values_type v;
    values(g, src, j, v);
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      (store<nodes::stores[K]>(out[K], j, v), ...);
    }
    (std::make_index_sequence<nodes::store_count>{});
  }

  LOOM_NO_EXEC_CHECK
  template <std::size_t I>
  LOOM_HD_INLINE static void store(void* out, std::size_t j, const values_type& v) {
    using T = typename node_t<G, I>::value_type;
    Lanes::store(static_cast<T*>(out) + j, at<I>(v));
  }
};

}  // namespace loom::common
