#pragma once

#include <array>
#include <boost/hana/at.hpp>
#include <boost/hana/length.hpp>
#include <cstddef>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/backends/cpu/compiled_model.hpp"
#include "loom/backends/cpu/threads.hpp"
#include "loom/backends/eager/map_kernel.hpp"
#include "loom/backends/eager/operand.hpp"
#include "loom/backends/eager/reduce_kernel.hpp"
#include "loom/graph/flatten.hpp"
#include "loom/graph/trace.hpp"

namespace loom::eager {

namespace detail {

// Position of each tensor among an op's operands: operand I becomes model input
// tensor_index[I] (scalars stay scalars).
template <class... X>
constexpr auto tensor_index() {
  std::array<std::size_t, sizeof...(X)> index{};
  std::size_t next = 0, i = 0;
  ((index[i++] = tensor_like<X> ? next++ : 0), ...);
  return index;
}

template <std::size_t K, class X>
auto leaf_for(const X& x) {
  if constexpr (tensor_like<X>)
    return input_leaf<K, std::remove_const_t<typename X::element_type>, typename X::extents_type>{};
  else
    return x;
}

template <class X>
auto tensors_of(const X& x) {
  if constexpr (tensor_like<X>)
    return std::tuple<const X&>(x);
  else
    return std::tuple<>{};
}

// Operand `leaf` of a traced op, where the eager call has it: a tensor of the call, or the
// scalar or literal the trace holds (already in the dtype the op reads it as).
template <class Leaf, class Tensors>
operand operand_of_leaf(const Leaf& leaf, const Tensors& tensors) {
  using T = typename Leaf::value_type;
  if constexpr (loom::detail::is_input_leaf_v<Leaf>) {
    const auto& t = std::get<Leaf::index>(tensors);
    return operand_of<T>(t.data(), t.shape());
  } else if constexpr (is_scalar_leaf_v<Leaf>) {
    return operand_of<T>(&leaf.value, shape{});
  } else {
    return operand_of<T>(&Leaf::value, shape{});
  }
}

template <class Op>
constexpr bool impure_op() {
  if constexpr (requires { Op::is_pure; })
    return !Op::is_pure;
  else
    return false;
}

// An element-wise op (or an element-wise opaque callable) on the call's tensors: one loop
// into a new tensor of the broadcast shape.
template <class N, class Tensors>
auto run_map(const N& node, const Tensors& tensors) {
  using Op = typename N::op_type;
  using R = typename N::value_type;
  return [&]<std::size_t... A>(std::index_sequence<A...>) {
    using args = std::tuple<std::remove_cvref_t<decltype(hana::at_c<A>(node.args))>...>;
    const std::array<operand, sizeof...(A)> in{
        operand_of_leaf(hana::at_c<A>(node.args), tensors)...};
    shape space = in[0].dims();
    for (std::size_t k = 1; k < in.size(); ++k)
      space = broadcast_shapes(space, in[k].dims(), Op::name);
    tensor<R, typename N::extents_type> out(space);
    using sig =
        typename Op::template signature<typename std::tuple_element_t<A, args>::value_type...>;
    map_kernel<R, typename std::tuple_element_t<A, args>::value_type...>(
        node.op, sig{}, out.data(), space, in, impure_op<Op>(), num_threads());
    return out;
  }
  (std::make_index_sequence<decltype(hana::length(node.args))::value>{});
}

// A reduction of one of the call's tensors: one fold into a new tensor.
template <class N, class Tensors>
auto run_reduce(const N& node, const Tensors& tensors) {
  using Op = typename N::op_type;
  using Leaf = std::remove_cvref_t<decltype(hana::at_c<0>(node.args))>;
  using T = typename Leaf::value_type;
  const operand in = operand_of_leaf(hana::at_c<0>(node.args), tensors);
  const shape out_shape = Op::result_shape(in.dims());
  tensor<typename N::value_type, typename N::extents_type> out(out_shape);
  reduce_kernel<T>(
      node.op, typename Op::template signature<T>{}, out.data(), out_shape, in, num_threads());
  return out;
}

// Any other op (views, matmul, whole-tensor calls, hooks, barriers): its one-node graph,
// compiled and run by the CPU backend.
template <class N, class Tensors>
auto run_model(const N& node, const Tensors& tensors) {
  auto g = flatten(node);
  auto model = std::apply(
      [&](const auto&... t) {
        return compiled_model<
            decltype(g),
            input<std::remove_const_t<typename std::remove_cvref_t<decltype(t)>::element_type>,
                  typename std::remove_cvref_t<decltype(t)>::extents_type>...>(std::move(g));
      },
      tensors);
  return std::apply(model, tensors);
}

}  // namespace detail

// Eager mode: `op` runs now on concrete tensors and its result is materialised in a new
// tensor (from the buffer pool). Element-wise ops and reductions run one loop of the CPU
// backend's (the same blocks, scalar and SIMD functions as a fused pass); any other op is its
// one-node graph, compiled and run by the CPU backend.
template <class Op, class... X>
auto run(const Op& op, const X&... x) {
  constexpr auto index = detail::tensor_index<X...>();
  auto node = [&]<std::size_t... I>(std::index_sequence<I...>) {
    return loom::detail::trace_op(op, detail::leaf_for<index[I]>(x)...);
  }
  (std::index_sequence_for<X...>{});
  auto tensors = std::tuple_cat(detail::tensors_of(x)...);
  constexpr node_kind kind = op_kind<typename decltype(node)::op_type>();
  if constexpr (kind == node_kind::elementwise || kind == node_kind::opaque)
    return detail::run_map(node, tensors);
  else if constexpr (kind == node_kind::reduction)
    return detail::run_reduce(node, tensors);
  else
    return detail::run_model(node, tensors);
}

}  // namespace loom::eager
