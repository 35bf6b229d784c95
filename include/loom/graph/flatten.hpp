#pragma once

#include <array>
#include <boost/hana/at.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/tuple.hpp>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/graph/node.hpp"
#include "loom/graph/node_list.hpp"
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
  // A plain member, though most ops are empty: the CUDA backend passes graphs to kernels by
  // value, and nvcc 13 places a member that follows an empty [[no_unique_address]] one at
  // another offset on the device than on the host.
  Op op;
};

// A traced program: nodes in topological order (a node_list of flat_node) and the indices
// of the nodes it returns.
template <class Nodes, bool ReturnsTuple, std::size_t... Outputs>
struct graph {
  using nodes_type = Nodes;
  static constexpr std::size_t node_count = Nodes::size;
  static constexpr std::array<std::size_t, sizeof...(Outputs)> outputs{Outputs...};
  static constexpr std::size_t output_count = sizeof...(Outputs);
  // True when the model returned a tuple, so results come back as a std::tuple.
  static constexpr bool returns_tuple = ReturnsTuple;
  Nodes nodes;
};

// A graph under another name: loom::compile runs a model's graph as a class of its own that
// derives from this, whose name is short where the graph's spells out every node
// (detail::compile_declared in api/compile.hpp). Everything about it is G's: traced_graph_t
// gives G back.
template <class G>
struct renamed_graph : G {
  using traced_graph = G;
};

// The graph as traced: G, or what a renamed_graph renames.
template <class G>
struct traced_graph {
  using type = G;
};
template <class G>
requires requires {
  typename G::traced_graph;
}
struct traced_graph<G> {
  using type = typename G::traced_graph;
};
template <class G>
using traced_graph_t = typename traced_graph<G>::type;

namespace detail {

template <class N>
inline constexpr bool is_input_leaf_v = false;
template <std::size_t I, class T, class E, class Dims>
inline constexpr bool is_input_leaf_v<input_leaf<I, T, E, Dims>> = true;

template <class N>
struct node_parts;
template <class Op, class T, class E, class... Args>
struct node_parts<apply<Op, T, E, Args...>> {
  using op = Op;
};

// True when the value of a tree is fixed by its type: it holds no scalar and no stateful or
// impure callable. Only such trees may be merged by type.
template <class N>
inline constexpr bool subtree_mergeable_v = !is_scalar_leaf_v<N>;
template <class Op, class T, class E, class... Args>
inline constexpr bool subtree_mergeable_v<apply<Op, T, E, Args...>> = op_is_mergeable<Op>() &&
                                                                      (subtree_mergeable_v<Args> &&
                                                                       ...);

// True when the copies of a tree may be merged once compile() has checked that they hold the
// same run-time state (copies_agree): the tree holds no impure callable. Scalars and stateful
// pure callables are allowed, since their values and identities are compared.
template <class N>
inline constexpr bool subtree_shareable_v = true;
template <class Op, class T, class E, class... Args>
inline constexpr bool subtree_shareable_v<apply<Op, T, E, Args...>> = op_is_shareable<Op>() &&
                                                                      (subtree_shareable_v<Args> &&
                                                                       ...);

template <bool Share, class N>
inline constexpr bool merges_by_type_v = Share ? subtree_shareable_v<N> : subtree_mergeable_v<N>;

// Which flat node each mergeable tree type already became. Tracing copies a reused value
// into every use, so a value used twice at each of d levels appears 2^d times in the tree;
// the memo lets the walk visit each distinct mergeable subtree once, keeping flattening
// linear in the number of distinct nodes.
template <class Tree, std::size_t Index>
struct memo_entry {};
template <class... Entries>
struct memo {};

template <class Tree, class... Trees, std::size_t... Index>
constexpr std::size_t memo_find(memo<memo_entry<Trees, Index>...>*) {
  std::size_t found = ~std::size_t(0);
  (void)((std::is_same_v<Tree, Trees> ? (found = Index, true) : false) || ...);
  return found;
}

template <class Memo, class Tree, std::size_t Index>
struct memo_add;
template <class... Entries, class Tree, std::size_t Index>
struct memo_add<memo<Entries...>, Tree, Index> {
  using type = memo<Entries..., memo_entry<Tree, Index>>;
};

// A mark in the memo: the walk merged two copies of a tree that holds run-time state (a
// scalar, a stateful callable), which compile() must then compare (copies_agree).
struct merged_state_copy {};

template <class Memo>
inline constexpr bool merged_state_copies_v =
    detail::memo_find<merged_state_copy>(static_cast<Memo*>(nullptr)) != ~std::size_t(0);

template <class Memo, class Tree>
using mark_state_copy_t = std::conditional_t<subtree_mergeable_v<Tree>,
                                             Memo,
                                             typename memo_add<Memo, merged_state_copy, 0>::type>;

// The walk's state after a node was added: the flat nodes so far, the memo, and the index
// of the node just visited.
template <class Nodes, class Memo, std::size_t Index>
struct visited {
  using memo_type = Memo;
  static constexpr std::size_t index = Index;
  Nodes nodes;
};

// Where a mergeable candidate already is in the list (the list's size where it is not). A
// candidate that may not merge is not looked for: a specialisation, not `?:`, which would
// instantiate the search for it too.
template <bool Mergeable, class Candidate, class Nodes>
inline constexpr std::size_t merge_position = Nodes::size;
template <class Candidate, class Nodes>
inline constexpr std::size_t merge_position<true, Candidate, Nodes> =
    index_of_node_v<Candidate, Nodes>;

// Adds `candidate` to `nodes` unless an equal node is there already. Equal types mean equal
// values only for nodes that hold no run-time state (see op_is_mergeable), so only those are
// looked up; a scalar, a stateful or an impure callable is always a node of its own, and so
// is every node built on it, since its inputs differ.
template <class Tree, class Memo, bool Mergeable, class Nodes, class Candidate>
constexpr auto find_or_append(const Nodes& nodes, const Candidate& candidate) {
  constexpr std::size_t size = Nodes::size;
  constexpr std::size_t at = merge_position<Mergeable, Candidate, Nodes>;
  if constexpr (at != size) {
    using marked = mark_state_copy_t<Memo, Tree>;
    return visited<Nodes, typename memo_add<marked, Tree, at>::type, at>{nodes};
  } else {
    auto grown = detail::append_node(nodes, candidate);
    // Only a mergeable tree's type goes into the memo: naming a memo type that holds any
    // other tree, even as the unused branch of a std::conditional_t, made nvcc's host front
    // end (cudafe++) take minutes, with time that grows with the tree written out in full.
    if constexpr (Mergeable)
      return visited<decltype(grown), typename memo_add<Memo, Tree, size>::type, size>{grown};
    else
      return visited<decltype(grown), Memo, size>{grown};
  }
}

// The walk's state after a list of children or outputs: the state after the last of them, and
// the indices of their nodes. A struct of its own, not a hana::pair: over hana::pair of these
// states nvcc's host front end (cudafe++) took time that grew with the size of the traced
// tree written out in full (a value used twice at each of d levels: 2^d), about 50 s of the
// attention block's compile; here it grows with the number of distinct nodes, as in g++.
template <class Last, std::size_t... Index>
struct visited_list {
  using indices = std::index_sequence<Index...>;
  Last last;
};

template <bool Share, class Memo, class Nodes, class N>
constexpr auto insert(Nodes nodes, const N& node);

// Inserts the children of a node from the K-th on, collecting their indices.
template <bool Share, class Memo, std::size_t K, class Nodes, class Args, std::size_t... Index>
constexpr auto insert_children(Nodes nodes, const Args& args, std::index_sequence<Index...>) {
  if constexpr (K == Args::size) {
    return visited_list<visited<Nodes, Memo, 0>, Index...>{{nodes}};
  } else {
    auto r = detail::insert<Share, Memo>(nodes, loom::node_at<K>(args));
    using R = decltype(r);
    return detail::insert_children<Share, typename R::memo_type, K + 1>(
        r.nodes, args, std::index_sequence<Index..., R::index>{});
  }
}

template <class Op, class T, class E, std::size_t... Index>
constexpr auto make_flat(const Op& op, std::index_sequence<Index...>) {
  return flat_node<Op, T, E, Index...>{op};
}

template <bool Share, class Memo, class Nodes, class N>
constexpr auto insert(Nodes nodes, const N& node) {
  using T = typename N::value_type;
  using E = typename N::extents_type;
  constexpr std::size_t known = detail::memo_find<N>(static_cast<Memo*>(nullptr));
  if constexpr (known != ~std::size_t(0)) {
    return visited<Nodes, mark_state_copy_t<Memo, N>, known>{nodes};
  } else if constexpr (is_input_leaf_v<N> || is_literal_leaf_v<N>) {
    return detail::find_or_append<N, Memo, true>(nodes, flat_node<N, T, E>{node});
  } else if constexpr (is_scalar_leaf_v<N>) {
    return detail::find_or_append<N, Memo, false>(nodes, flat_node<N, T, E>{node});
  } else {
    using Op = typename node_parts<N>::op;
    auto children =
        detail::insert_children<Share, Memo, 0>(nodes, node.args, std::index_sequence<>{});
    using After = typename decltype(children.last)::memo_type;
    auto candidate = detail::make_flat<Op, T, E>(node.op, typename decltype(children)::indices{});
    return detail::find_or_append<N, After, merges_by_type_v<Share, N>>(children.last.nodes,
                                                                        candidate);
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

// What a traced model returned, as the children of a node: one value, or a tuple's values.
template <class R>
constexpr auto as_outputs(const R& result) {
  if constexpr (is_hana_tuple_v<R>) {
    return [&]<std::size_t... K>(std::index_sequence<K...>) {
      return make_node_list(hana::at_c<K>(result)...);
    }
    (std::make_index_sequence<decltype(hana::length(result))::value>{});
  } else if constexpr (is_tuple_v<R>) {
    return std::apply([](const auto&... r) { return make_node_list(r...); }, result);
  } else {
    return make_node_list(result);
  }
}

}  // namespace detail

namespace detail {

template <class Outputs>
inline constexpr bool all_traced = false;
template <class... T>
inline constexpr bool all_traced<node_list<T...>> = (traced<T> && ...);

template <bool ReturnsTuple, class Nodes, std::size_t... Outputs>
constexpr auto make_graph(Nodes nodes, std::index_sequence<Outputs...>) {
  return graph<Nodes, ReturnsTuple, Outputs...>{nodes};
}

}  // namespace detail

// Which copies of a value built on run-time state (a scalar, a stateful callable) flatten
// merges: none (apart), or those of one type (shared; compile() then checks with
// copies_agree that they hold the same state).
enum class copies { apart, shared };

namespace detail {
template <copies Copies, class Result>
constexpr auto walk(const Result& result) {
  const auto outputs = as_outputs(result);
  static_assert(all_traced<std::remove_const_t<decltype(outputs)>>,
                "loom: a traced model must return traced values (or a tuple of them)");
  // The outputs are inserted as a node's children are, their indices collected in order.
  return insert_children<Copies == copies::shared, memo<>, 0>(
      node_list<>{}, outputs, std::index_sequence<>{});
}
}  // namespace detail

// Turns what a traced callable returned (one node, or a tuple/pair of nodes) into the flat
// graph, computing each distinct subexpression once.
template <copies Copies = copies::apart, class Result>
constexpr auto flatten(const Result& result) {
  auto walked = detail::walk<Copies>(result);
  return detail::make_graph<detail::is_tuple_v<Result>>(walked.last.nodes,
                                                        typename decltype(walked)::indices{});
}

// Whether flatten<copies::shared>(result) merged two copies of a value built on run-time
// state: only then may they disagree.
template <class Result>
inline constexpr bool merges_state_copies_v = detail::merged_state_copies_v<
    typename decltype(detail::walk<copies::shared>(std::declval<const Result&>()).last)::memo_type>;

// The type of node I of a graph g, whose value is `node_at<I>(g.nodes)` (node_list.hpp).
template <class G, std::size_t I>
using node_t = typename node_type<typename G::nodes_type, I>::type;

}  // namespace loom
