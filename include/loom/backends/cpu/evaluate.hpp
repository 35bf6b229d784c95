#pragma once

#include <array>
#include <boost/hana/at.hpp>
#include <cstddef>
#include <tuple>
#include <utility>

#include "loom/graph/impure.hpp"
#include "loom/graph/plan.hpp"

namespace loom::cpu {

// Where each input leaf of a group reads the current row: its first element there, and
// whether it is broadcast along the row (one value for the whole row).
template <std::size_t N>
struct row_sources {
  std::array<const void*, N> data{};
  std::array<bool, N> broadcast{};
};

template <class G, std::size_t Group>
struct group_nodes {
  using plan = fusion_plan<G>;
  static constexpr std::size_t count = [] {
    std::size_t n = 0;
    for (bool b : plan::needed[Group]) n += b;
    return n;
  }();
  // The nodes group `Group` computes, in topological order.
  static constexpr auto list = [] {
    std::array<std::size_t, count> l{};
    std::size_t n = 0;
    for (std::size_t i = 0; i < G::node_count; ++i)
      if (plan::needed[Group][i]) l[n++] = i;
    return l;
  }();
  // The outputs group `Group` writes, as indices into G::outputs.
  static constexpr std::size_t output_count = [] {
    std::size_t n = 0;
    for (auto g : plan::group_of_output) n += g == Group;
    return n;
  }();
  static constexpr auto outputs = [] {
    std::array<std::size_t, output_count> l{};
    std::size_t n = 0;
    for (std::size_t k = 0; k < G::output_count; ++k)
      if (plan::group_of_output[k] == Group) l[n++] = k;
    return l;
  }();
};

// Computes `Lanes::width` consecutive elements of every node a group needs, each node once,
// in topological order, and stores the group's outputs. Values stay in locals (registers);
// nothing is written but the outputs.
template <class G, std::size_t Group, class Lanes, bool Dense>
struct evaluate {
  using nodes = group_nodes<G, Group>;

  template <std::size_t... I>
  static auto make_values(std::index_sequence<I...>)
      -> std::tuple<typename Lanes::template value<typename node_t<G, I>::value_type>...>;
  using values_type = decltype(make_values(std::make_index_sequence<G::node_count>{}));

  template <std::size_t I>
  LOOM_INLINE static void node(const G& g,
                               const row_sources<G::node_count>& src,
                               std::size_t j,
                               values_type& v) {
    using N = node_t<G, I>;
    using T = typename N::value_type;
    const auto& n = hana::at_c<I>(g.nodes);
    constexpr node_kind kind = kind_of<N>();
    if constexpr (kind == node_kind::input) {
      const bool bcast = !Dense && src.broadcast[I];
      std::get<I>(v) = Lanes::load(static_cast<const T*>(src.data[I]) + (bcast ? 0 : j), bcast);
    } else if constexpr (kind == node_kind::scalar) {
      std::get<I>(v) = Lanes::splat(n.op.value);
    } else if constexpr (kind == node_kind::literal) {
      std::get<I>(v) = Lanes::splat(N::op_type::value);
    } else if constexpr (impure_twins<I>().size() > 0) {
      // Another copy of this impure call was computed already: reuse its value.
      if (n.op.alias != n.op.no_alias) {
        [&]<std::size_t... K>(std::index_sequence<K...>) {
          ((n.op.alias == impure_twins<I>()[K]
                ? (void)(std::get<I>(v) = std::get<impure_twins<I>()[K]>(v))
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

  // Earlier nodes of this group with the same impure op as node I: the nodes link_reused_
  // impure_nodes may have linked it to.
  template <std::size_t I>
  static constexpr auto impure_twins() {
    constexpr std::size_t count = [] {
      std::size_t c = 0;
      [&]<std::size_t... K>(std::index_sequence<K...>) {
        ((c += twin<I, K>()), ...);
      }
      (std::make_index_sequence<I>{});
      return c;
    }();
    std::array<std::size_t, count> list{};
    std::size_t c = 0;
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      ((twin<I, K>() ? (void)(list[c++] = K) : void()), ...);
    }
    (std::make_index_sequence<I>{});
    return list;
  }

  template <std::size_t I, std::size_t K>
  static constexpr bool twin() {
    return loom::detail::is_impure_node<G, I>() && fusion_plan<G>::needed[Group][K] &&
           std::is_same_v<typename node_t<G, K>::op_type, typename node_t<G, I>::op_type>;
  }

  template <std::size_t I, class Node>
  LOOM_INLINE static void compute(const Node& n, values_type& v) {
    using N = node_t<G, I>;
    using T = typename N::value_type;
    [&]<std::size_t... A>(std::index_sequence<A...>) {
      using sig =
          typename N::op_type::template signature<typename node_t<G, N::args[A]>::value_type...>;
      apply_signature<T>(n.op, sig{}, std::get<I>(v), std::get<N::args[A]>(v)...);
    }
    (std::make_index_sequence<N::arity>{});
  }

  template <class T, class Op, class R, class... Operand, class Out, class... Arg>
  LOOM_INLINE static void apply_signature(const Op& op,
                                          signature<R, Operand...>,
                                          Out& out,
                                          const Arg&... arg) {
    out = Lanes::template apply<T>(op, Lanes::template convert<Operand>(arg)...);
  }

  LOOM_INLINE static void run(const G& g,
                              const row_sources<G::node_count>& src,
                              std::size_t j,
                              const std::array<void*, nodes::output_count>& out) {
    values_type v;
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      (node<nodes::list[K]>(g, src, j, v), ...);
    }
    (std::make_index_sequence<nodes::count>{});
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      (store<G::outputs[nodes::outputs[K]]>(out[K], j, v), ...);
    }
    (std::make_index_sequence<nodes::output_count>{});
  }

  template <std::size_t I>
  LOOM_INLINE static void store(void* out, std::size_t j, const values_type& v) {
    using T = typename node_t<G, I>::value_type;
    Lanes::store(static_cast<T*>(out) + j, std::get<I>(v));
  }
};

}  // namespace loom::cpu
