#pragma once

#include <array>
#include <boost/hana/append.hpp>
#include <boost/hana/at.hpp>
#include <boost/hana/fold_left.hpp>
#include <boost/hana/index_if.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/optional.hpp>
#include <boost/hana/pair.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/unpack.hpp>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/graph/node.hpp"
#include "loom/graph/opaque.hpp"

namespace loom {

namespace hana = boost::hana;

// One node of the flat graph: the op (or leaf) it computes, its element type and static
// extents, and its inputs as indices of earlier nodes.
template <class Op, dtype T, extents_type E, std::size_t... Args>
struct flat_node {
  using op_type = Op;
  using value_type = T;
  using extents_type = E;
  static constexpr std::size_t arity = sizeof...(Args);
  static constexpr std::array<std::size_t, sizeof...(Args)> args{Args...};
  [[no_unique_address]] Op op;
};

// A traced program: nodes in topological order (a hana::tuple of flat_node) and the indices
// of the nodes it returns.
template <class Nodes, bool ReturnsTuple, std::size_t... Outputs>
struct graph {
  using nodes_type = Nodes;
  static constexpr std::size_t node_count = decltype(hana::length(std::declval<Nodes>()))::value;
  static constexpr std::array<std::size_t, sizeof...(Outputs)> outputs{Outputs...};
  static constexpr std::size_t output_count = sizeof...(Outputs);
  // True when the model returned a tuple, so results come back as a std::tuple.
  static constexpr bool returns_tuple = ReturnsTuple;
  Nodes nodes;
};

namespace detail {

template <class N>
inline constexpr bool is_input_leaf_v = false;
template <std::size_t I, class T, class E>
inline constexpr bool is_input_leaf_v<input_leaf<I, T, E>> = true;

template <class N>
struct node_parts;
template <class Op, class T, class E, class... Args>
struct node_parts<apply<Op, T, E, Args...>> {
  using op = Op;
};

// Adds `candidate` to `nodes` unless an equal node is there already. Equal types mean equal
// values only for nodes that hold no run-time state (see op_is_mergeable), so only those are
// looked up; a scalar, a stateful or an impure callable is always a node of its own, and so
// is every node built on it, since its inputs differ.
template <bool Mergeable, class Nodes, class Candidate>
constexpr auto find_or_append(Nodes nodes, Candidate candidate) {
  if constexpr (Mergeable) {
    auto found = hana::index_if(nodes, [](const auto& n) {
      return hana::bool_c<std::is_same_v<std::remove_cvref_t<decltype(n)>, Candidate>>;
    });
    if constexpr (decltype(hana::is_just(found))::value)
      return hana::make_pair(nodes, *found);
    else
      return hana::make_pair(hana::append(nodes, candidate), hana::length(nodes));
  } else {
    return hana::make_pair(hana::append(nodes, candidate), hana::length(nodes));
  }
}

template <class Nodes, class N>
constexpr auto insert(Nodes nodes, const N& node) {
  using T = typename N::value_type;
  using E = typename N::extents_type;
  if constexpr (is_input_leaf_v<N> || is_literal_leaf_v<N>) {
    return find_or_append<true>(nodes, flat_node<N, T, E>{node});
  } else if constexpr (is_scalar_leaf_v<N>) {
    return find_or_append<false>(nodes, flat_node<N, T, E>{node});
  } else {
    using Op = typename node_parts<N>::op;
    auto visited = hana::fold_left(
        node.args, hana::make_pair(nodes, hana::tuple<>{}), [](auto state, const auto& child) {
          auto r = insert(hana::first(state), child);
          return hana::make_pair(hana::first(r),
                                 hana::append(hana::second(state), hana::second(r)));
        });
    auto candidate = hana::unpack(hana::second(visited), [&](auto... index) {
      return flat_node<Op, T, E, decltype(index)::value...>{node.op};
    });
    return find_or_append<op_is_mergeable<Op>()>(hana::first(visited), candidate);
  }
}

template <class R>
inline constexpr bool is_tuple_v = false;
template <class... Ts>
inline constexpr bool is_tuple_v<std::tuple<Ts...>> = true;
template <class A, class B>
inline constexpr bool is_tuple_v<std::pair<A, B>> = true;
template <class... Ts>
inline constexpr bool is_tuple_v<hana::tuple<Ts...>> = true;

template <class R>
inline constexpr bool is_hana_tuple_v = false;
template <class... Ts>
inline constexpr bool is_hana_tuple_v<hana::tuple<Ts...>> = true;

template <class R>
constexpr auto as_hana_tuple(const R& result) {
  if constexpr (is_hana_tuple_v<R>)
    return result;
  else if constexpr (is_tuple_v<R>)
    return std::apply([](const auto&... r) { return hana::make_tuple(r...); }, result);
  else
    return hana::make_tuple(result);
}

}  // namespace detail

// Turns what a traced callable returned (one node, or a tuple/pair of nodes) into the flat
// graph, computing each distinct subexpression once.
template <class Result>
constexpr auto flatten(const Result& result) {
  auto outputs = detail::as_hana_tuple(result);
  auto visited = hana::fold_left(
      outputs, hana::make_pair(hana::tuple<>{}, hana::tuple<>{}), [](auto state, const auto& out) {
        static_assert(traced<decltype(out)>,
                      "loom: a traced model must return traced "
                      "values (or a tuple of them)");
        auto r = detail::insert(hana::first(state), out);
        return hana::make_pair(hana::first(r), hana::append(hana::second(state), hana::second(r)));
      });
  using Nodes = std::remove_cvref_t<decltype(hana::first(visited))>;
  return hana::unpack(hana::second(visited), [&](auto... out) {
    return graph<Nodes, detail::is_tuple_v<Result>, decltype(out)::value...>{hana::first(visited)};
  });
}

template <class G, std::size_t I>
using node_t = std::remove_cvref_t<decltype(hana::at_c<I>(std::declval<typename G::nodes_type>()))>;

}  // namespace loom
