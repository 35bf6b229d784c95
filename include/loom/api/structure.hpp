#pragma once

#include <utility>

#include "loom/api/ops.hpp"
#include "loom/graph/ops/call.hpp"
#include "loom/graph/ops/grad_hook.hpp"
#include "loom/graph/ops/matmul.hpp"

// Ops that shape the fusion plan: a GEMM, and the explicit materialisation points.
namespace loom {

// matmul(a, b): the matrix product over the last two axes, batched over a leading axis.
template <class A, class B>
requires detail::loom_operands<A, B>
auto matmul(const A& a, const B& b) {
  return detail::dispatch(ops::matmul{}, a, b);
}

// hook(x, callback): x, unchanged; callback(loom::tensor_view<const T, E>) sees x's value
// once per run, in program order (the analog of a tensor hook).
template <class X, class C>
requires detail::loom_operands<X>
auto hook(const X& x, C callback) {
  return detail::dispatch(ops::hook<C>{{}, std::move(callback)}, x);
}

// grad_hook(x, callback): x, unchanged. In a gradient model (loom::grad), callback(
// loom::tensor_view<const T, E>) sees the gradient of the loss with respect to x once per
// run, in the backward pass's order (the analog of torch's Tensor.register_hook); in any
// other model it is never called.
template <class X, class C>
requires detail::loom_operands<X>
auto grad_hook(const X& x, C callback) {
  return detail::dispatch(ops::grad_hook<C>{{}, {}, std::move(callback)}, x);
}

// fusion_barrier(x): x, unchanged, materialised: fused groups end here.
template <class X>
requires detail::loom_operands<X>
auto fusion_barrier(const X& x) {
  return detail::dispatch(ops::barrier{}, x);
}

}  // namespace loom
