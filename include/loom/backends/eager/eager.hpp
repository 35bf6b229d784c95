#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/backends/common/steps.hpp"
#include "loom/backends/cpu/compiled_model.hpp"
#include "loom/backends/cpu/matmul_step.hpp"
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

// Whether an op on operands `Args` (a tuple of leaves), with steps `steps` along the rows, is
// a division by one value per row of the result, as the fused evaluator decides it
// (evaluate::divides_by_row_value): then it multiplies by the inverse, and eager mode does
// the same, so that both round alike.
template <class Op, class R, class Args, std::size_t K>
constexpr bool divides_by_row_value(const std::array<int, K>& steps) {
  if constexpr (std::is_same_v<Op, ops::div> && K == 2) {
    using X = std::tuple_element_t<0, Args>;
    using D = std::tuple_element_t<1, Args>;
    return std::is_floating_point_v<R> && std::is_same_v<typename X::value_type, R> &&
           std::is_same_v<typename D::value_type, R> && D::extents_type::rank > 0 && steps[1] == 0;
  } else {
    return false;
  }
}

// An operand's step along the rows of an eager op's nest where the static extents fix it, by
// the fused evaluator's rule (row_step_of_extents); a rank-0 operand is one value for all,
// and the only operand with a rank is walked in order.
template <class E, class Leaf>
constexpr int static_step(std::size_t operands_with_rank) {
  using own = typename Leaf::extents_type;
  if (own::rank == 0) return 0;
  if (operands_with_rank == 1) return 1;
  return common::row_step_of_extents(E::dims[E::rank - 1], own::dims[own::rank - 1]);
}

template <class E, class... Leaf>
constexpr std::array<int, sizeof...(Leaf)> static_steps() {
  constexpr std::size_t with_rank = ((Leaf::extents_type::rank > 0 ? 1 : 0) + ...);
  return {static_step<E, Leaf>(with_rank)...};
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
    using args = std::tuple<std::remove_cvref_t<decltype(node_at<A>(node.args))>...>;
    const std::array<operand, sizeof...(A)> in{operand_of_leaf(node_at<A>(node.args), tensors)...};
    shape space = in[0].dims();
    for (std::size_t k = 1; k < in.size(); ++k)
      space = broadcast_shapes(space, in[k].dims(), Op::name);
    tensor<R, typename N::extents_type> out(space);
    using sig =
        typename Op::template signature<typename std::tuple_element_t<A, args>::value_type...>;
    constexpr auto steps =
        static_steps<typename N::extents_type, std::tuple_element_t<A, args>...>();
    constexpr bool row_divisor = divides_by_row_value<Op, R, args>(steps);
    map_kernel<R, steps, row_divisor, typename std::tuple_element_t<A, args>::value_type...>(
        node.op, sig{}, out.data(), space, in, impure_op<Op>(), num_threads());
    return out;
  }
  (std::make_index_sequence<N::args_type::size>{});
}

// A reduction of one of the call's tensors: one fold into a new tensor.
template <class N, class Tensors>
auto run_reduce(const N& node, const Tensors& tensors) {
  using Op = typename N::op_type;
  using Leaf = std::remove_cvref_t<decltype(node_at<0>(node.args))>;
  using T = typename Leaf::value_type;
  const operand in = operand_of_leaf(node_at<0>(node.args), tensors);
  const shape out_shape = Op::result_shape(in.dims());
  tensor<typename N::value_type, typename N::extents_type> out(out_shape);
  reduce_kernel<T, Leaf::extents_type::rank>(
      node.op, typename Op::template signature<T>{}, out.data(), out_shape, in, num_threads());
  return out;
}

// A matmul of two of the call's tensors of its own dtype: the CPU backend's GEMM rows into a
// new tensor, rows over threads as a matmul step alone.
template <class N, class Tensors>
auto run_matmul(const N& node, const Tensors& tensors) {
  using Op = typename N::op_type;
  using T = typename N::value_type;
  const operand a = operand_of_leaf(node_at<0>(node.args), tensors);
  const operand b = operand_of_leaf(node_at<1>(node.args), tensors);
  const shape out_shape = Op::result_shape(a.dims(), b.dims());
  tensor<T, typename N::extents_type> out(out_shape);
  const std::size_t m = out_shape.dims[out_shape.rank - 2], n = out_shape.dims[out_shape.rank - 1];
  const std::size_t k = a.dims().dims[a.dims().rank - 1];
  const std::size_t rows = n == 0 ? 0 : out_shape.size() / n;
  const auto lhs = common::matrix_operand_of(static_cast<const T*>(a.data), a.where);
  const auto rhs = common::matrix_operand_of(static_cast<const T*>(b.data), b.where);
  cpu::for_row_shares(
      rows, cpu::threads_for(out_shape.size(), num_threads()), [&](std::size_t r0, std::size_t r1) {
        cpu::gemm_rows<false, false>(lhs, rhs, m, k, n, out.data(), r0, r1);
      });
  return out;
}

// Whether node N is a matmul whose operands have its dtype (run_matmul's case).
template <class N>
constexpr bool multiplies_own_dtype() {
  if constexpr (op_kind<typename N::op_type>() == node_kind::matmul) {
    using A = std::remove_cvref_t<decltype(node_at<0>(std::declval<const N&>().args))>;
    using B = std::remove_cvref_t<decltype(node_at<1>(std::declval<const N&>().args))>;
    return std::is_same_v<typename A::value_type, typename N::value_type> &&
           std::is_same_v<typename B::value_type, typename N::value_type>;
  } else {
    return false;
  }
}

// Any other op (views, a matmul that converts its operands, whole-tensor calls, hooks,
// barriers): its one-node graph, compiled and run by the CPU backend.
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
// backend's (the same blocks, scalar and SIMD functions as a fused pass) and a matmul its
// GEMM; any other op is its one-node graph, compiled and run by the CPU backend.
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
  else if constexpr (detail::multiplies_own_dtype<decltype(node)>())
    return detail::run_matmul(node, tensors);
  else
    return detail::run_model(node, tensors);
}

}  // namespace loom::eager
