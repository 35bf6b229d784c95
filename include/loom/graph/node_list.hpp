#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

// The nodes of a flat graph, in order: a tuple of loom's own rather than a general-purpose
// one, because node I is reached for every node of every graph, many times over. A general
// tuple's element access is a chain of function templates named after the whole tuple type;
// a gradient model's node list has hundreds of types in it, so each such name is kilobytes
// long, and g++ mangles the name of every function it keeps: a test of training steps had
// 57,000 of them among 87,000, and the phase that mangles the names took 128 of its 246 s
// of compile. Here node I is a base class, node_slot<I, N>: its type (node_t) comes from
// overload resolution on a declaration, once per list and index, and its value from
// node_at<I>, a function named after node I's type alone. A traced node holds its children
// in one too: a training step's trace makes hundreds of node types, each with its children's
// list, and this one brings only its constructor.
namespace loom {

template <std::size_t I, class N>
struct node_slot {
  N node;
};

namespace detail {
template <class Indices, class... N>
struct node_slots;
template <std::size_t... I, class... N>
struct node_slots<std::index_sequence<I...>, N...> : node_slot<I, N>... {
  constexpr explicit node_slots(const N&... nodes) : node_slot<I, N>{nodes}... {}
};

// Only declared: decltype of a call picks node I's type out of the list's bases.
template <std::size_t I, class N>
N node_type_at(const node_slot<I, N>&);
}  // namespace detail

// Node I's type, found once for each list and index: a class template's instances are kept,
// so the search of the list's bases is not repeated at every use.
template <class Nodes, std::size_t I>
struct node_type {
  using type = decltype(detail::node_type_at<I>(std::declval<const Nodes&>()));
};

template <class... N>
struct node_list : detail::node_slots<std::index_sequence_for<N...>, N...> {
  static constexpr std::size_t size = sizeof...(N);

  constexpr explicit node_list(const N&... nodes)
      : detail::node_slots<std::index_sequence_for<N...>, N...>(nodes...) {}
};

template <class... N>
node_list(const N&...) -> node_list<N...>;

// A list of the given nodes; unlike the deduction guide, one node that is itself a list is
// held as a node, not copied.
template <class... N>
constexpr node_list<N...> make_node_list(const N&... nodes) {
  return node_list<N...>(nodes...);
}

// Node I of a list (`node_at<I>(g.nodes)`): N is deduced from the list's base node_slot<I, N>,
// so the function is named after node I's type alone, not after the whole list, and one
// instance serves every list that holds that node at I.
template <std::size_t I, class N>
constexpr const N& node_at(const node_slot<I, N>& slot) {
  return slot.node;
}
template <std::size_t I, class N>
constexpr N& node_at(node_slot<I, N>& slot) {
  return slot.node;
}

namespace detail {
template <class X, class... N, std::size_t... I>
constexpr node_list<N..., X> append_node(const node_list<N...>& list,
                                         const X& node,
                                         std::index_sequence<I...>) {
  return node_list<N..., X>(static_cast<const node_slot<I, N>&>(list).node..., node);
}

// The list with `node` after its last node.
template <class X, class... N>
constexpr node_list<N..., X> append_node(const node_list<N...>& list, const X& node) {
  return append_node(list, node, std::index_sequence_for<N...>{});
}

// Where a node of type X first appears in the list; its size when it does not.
template <class X, class... N>
constexpr std::size_t index_of_node(const node_list<N...>*) {
  constexpr bool same[] = {std::is_same_v<X, N>..., true};
  std::size_t i = 0;
  while (!same[i]) ++i;
  return i;
}
}  // namespace detail

template <class X, class Nodes>
inline constexpr std::size_t index_of_node_v =
    detail::index_of_node<X>(static_cast<const Nodes*>(nullptr));

}  // namespace loom
