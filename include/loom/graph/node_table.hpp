#pragma once

#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/graph/flatten.hpp"
#include "loom/graph/node_kind.hpp"
#include "loom/graph/ops/call.hpp"
#include "loom/graph/ops/reduce.hpp"
#include "loom/graph/ops/view.hpp"

namespace loom {

template <class N>
constexpr node_kind kind_of() {
  using Op = typename N::op_type;
  if constexpr (detail::is_input_leaf_v<Op>)
    return node_kind::input;
  else if constexpr (is_scalar_leaf_v<Op>)
    return node_kind::scalar;
  else if constexpr (is_literal_leaf_v<Op>)
    return node_kind::literal;
  else
    return op_kind<Op>();
}

// What the planner knows of one node, as a constexpr value: the type-level graph turned into
// a table that ordinary constexpr loops can walk.
struct node_info {
  node_kind kind;
  std::size_t arity;
  std::array<std::size_t, max_operands> args;
  std::size_t rank;
  std::array<std::size_t, max_rank> dims;
  bool impure;
  std::size_t element_size;
  unsigned reduced_axes;  // reductions: bit d set when axis d of the operand is reduced
  bool swaps_last_axes;   // views: a permute that only swaps the last two axes
  bool reads_contiguous;  // views: reshape, which reads its operand as one contiguous buffer
  std::array<std::size_t, max_rank> source_axis;  // views: see ops::view_base
  ops::slice_spec slice;                          // slices: their bounds
  // In a graph with impure nodes, for the nodes that tracing copies into each use instead of
  // merging them (copied_by_tracing): the first node with the same op, dtype and extents
  // (whatever its operands), which may be another copy of the same value (see
  // fusion_plan::twin_class). Other nodes: the node.
  std::size_t first_same_op;
  // Inputs: for each axis that loom::dims names, the first input axis of that name, as
  // node * max_rank + axis; else ~0.
  std::array<std::size_t, max_rank> named_as;
  // Element-wise and opaque element-wise nodes: the op's cost per element (ops/concept.hpp).
  int cost = 0;
  // Whole-tensor opaque calls whose F declares `output_extents_of_input`: the operand whose
  // extents the result's dyn ones are; else ~0.
  std::size_t same_shape_as = ~std::size_t(0);
};

namespace detail {

template <class Op>
constexpr bool swaps_last_two_axes() {
  if constexpr (requires { Op::order; }) {
    constexpr std::size_t r = Op::order.size();
    if (r < 2) return false;
    for (std::size_t d = 0; d + 2 < r; ++d)
      if (Op::order[d] != d) return false;
    return Op::order[r - 2] == r - 1 && Op::order[r - 1] == r - 2;
  } else {
    return false;
  }
}

// Whether tracing may have copied node I into each use of its value instead of merging the
// copies (flatten.hpp, subtree_mergeable_v): it holds a run-time scalar or a stateful or
// impure callable, or is computed from such a node. compile() merges the copies of scalars
// and stateful callables (copies::shared) and keeps only impure ones apart; the plan still
// counts them all as possible copies, which only makes it more careful.
template <class G, std::size_t I>
constexpr bool copied_by_tracing() {
  using N = node_t<G, I>;
  if constexpr (N::arity == 0) {
    return is_scalar_leaf_v<typename N::op_type>;
  } else {
    return !op_is_mergeable<typename N::op_type>() ||
           []<std::size_t... A>(std::index_sequence<A...>) {
      return (copied_by_tracing<G, N::args[A]>() || ...);
    }
    (std::make_index_sequence<N::arity>{});
  }
}

template <class G, std::size_t I>
constexpr bool is_impure_node() {
  using Op = typename node_t<G, I>::op_type;
  if constexpr (requires { Op::is_pure; })
    return !Op::is_pure;
  else
    return false;
}

template <class G>
inline constexpr bool any_impure_node = []<std::size_t... I>(std::index_sequence<I...>) {
  return (is_impure_node<G, I>() || ...);
}
(std::make_index_sequence<G::node_count>{});

template <class G, std::size_t I>
constexpr std::size_t first_same_op() {
  using N = node_t<G, I>;
  using key = std::tuple<typename N::op_type, typename N::value_type, typename N::extents_type>;
  // Only the copies of impure calls need finding (fusion_plan::twin_class), and comparing
  // types with every earlier node costs compile time.
  if constexpr (!any_impure_node<G> || !copied_by_tracing<G, I>()) {
    return I;
  } else {
    return []<std::size_t... J>(std::index_sequence<J...>) {
      std::size_t first = I;
      ((first = first == I && std::is_same_v<key,
                                             std::tuple<typename node_t<G, J>::op_type,
                                                        typename node_t<G, J>::value_type,
                                                        typename node_t<G, J>::extents_type>>
                    ? J
                    : first),
       ...);
      return first;
    }
    (std::make_index_sequence<I>{});
  }
}

template <class G, class Name, std::size_t J>
constexpr std::size_t axis_named() {
  using Op = typename node_t<G, J>::op_type;
  if constexpr (is_input_leaf_v<Op>)
    return axis_named_in<typename Op::dims_type, Name>(
        J, std::make_index_sequence<Op::extents_type::rank>{});
  else
    return unnamed_axis;
}

// The first input axis of the graph named Name.
template <class G, class Name, std::size_t... J>
constexpr std::size_t first_axis_named(std::index_sequence<J...>) {
  std::size_t first = unnamed_axis;
  ((first = first != unnamed_axis ? first : axis_named<G, Name, J>()), ...);
  return first;
}

// For each axis of input Op, the first input axis named alike (unnamed_axis if unnamed).
template <class G, class Op, std::size_t... A>
constexpr std::array<std::size_t, max_rank> names_of_axes(std::index_sequence<A...>) {
  std::array<std::size_t, max_rank> named{};
  for (auto& n : named) n = unnamed_axis;
  using Dims = typename Op::dims_type;
  ((named[A] =
        std::is_same_v<dim_name_t<Dims, A>, unnamed>
            ? unnamed_axis
            : first_axis_named<G, dim_name_t<Dims, A>>(std::make_index_sequence<G::node_count>{})),
   ...);
  return named;
}

template <class G, std::size_t I>
constexpr node_info info_of() {
  using N = node_t<G, I>;
  using Op = typename N::op_type;
  node_info r{kind_of<N>(),
              N::arity,
              {},
              N::extents_type::rank,
              {},
              false,
              sizeof(typename N::value_type),
              0,
              false,
              false,
              {},
              {},
              I,
              {}};
  // Range loops: a counted loop to a bound of 0 draws nvcc's "pointless comparison" warning.
  std::size_t a = 0, d = 0;
  for (std::size_t arg : N::args) r.args[a++] = arg;
  for (std::size_t extent : N::extents_type::dims) r.dims[d++] = extent;
  r.impure = is_impure_node<G, I>();
  r.first_same_op = first_same_op<G, I>();
  for (auto& n : r.named_as) n = unnamed_axis;
  if constexpr (is_input_leaf_v<Op>)
    r.named_as = names_of_axes<G, Op>(std::make_index_sequence<N::extents_type::rank>{});
  if constexpr (ops::is_reduce_v<Op>) r.reduced_axes = Op::axes;
  if constexpr (requires { Op::cost; }) r.cost = Op::cost;
  if constexpr (requires { Op::callable_type::output_extents_of_input; })
    if constexpr (op_kind<Op>() == node_kind::opaque_call)
      r.same_shape_as = Op::callable_type::output_extents_of_input;
  if constexpr (op_kind<Op>() == node_kind::view) {
    r.swaps_last_axes = swaps_last_two_axes<Op>();
    r.reads_contiguous = requires {
      Op::reads_contiguous;
    };
    if constexpr (requires { Op::spec; }) r.slice = Op::spec;
    using Operand = node_t<G, N::args[0]>;
    // `!=`, not `<`: the rank may be 0, where nvcc warns that `d < 0` is pointless.
    for (std::size_t d = 0; d != N::extents_type::rank; ++d)
      r.source_axis[d] = Op::source_axis(d, Operand::extents_type::rank);
  }
  return r;
}

}  // namespace detail

template <class G>
inline constexpr auto node_table = []<std::size_t... I>(std::index_sequence<I...>) {
  return std::array<node_info, G::node_count>{detail::info_of<G, I>()...};
}
(std::make_index_sequence<G::node_count>{});

}  // namespace loom
