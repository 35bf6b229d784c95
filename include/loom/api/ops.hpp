#pragma once

#include "loom/graph/ops/binary.hpp"
#include "loom/graph/ops/compare.hpp"
#include "loom/graph/ops/select.hpp"
#include "loom/graph/ops/unary.hpp"
#include "loom/graph/trace.hpp"

// The functions users call. Each one builds a node when any operand is traced (tracing and
// scripting) and computes at once when the operands are tensors (eager), so one model
// source serves every mode.
namespace loom {

// Eager mode runs an op on tensors through the CPU backend (backends/eager/eager.hpp, which
// loom/loom.hpp includes after the API): declared here so that the op functions, and every
// API header built on them, do not include a backend.
namespace eager {
template <class Op, class... X>
auto run(const Op& op, const X&... x);
}  // namespace eager

namespace detail {
template <class Op, class... X>
auto dispatch(const Op& op, const X&... x) {
  // Literals are constants, not traced values: they join eager tensors as well.
  constexpr bool any_traced = ((traced<X> && !is_literal_leaf_v<X>) || ...);
  constexpr bool any_tensor = (tensor_like<X> || ...);
  static_assert(!(any_traced && any_tensor),
                "loom: a concrete tensor met a traced value; pass it to the model as an input");
  if constexpr (!any_tensor)
    return trace_op(op, x...);
  else
    return eager::run(op, x...);
}
}  // namespace detail

// clang-format off
template <class X> requires detail::loom_operands<X> auto neg(const X& x) { return detail::dispatch(ops::neg{}, x); }
template <class X> requires detail::loom_operands<X> auto abs(const X& x) { return detail::dispatch(ops::abs{}, x); }
template <class X> requires detail::loom_operands<X> auto square(const X& x) { return detail::dispatch(ops::square{}, x); }
template <class X> requires detail::loom_operands<X> auto relu(const X& x) { return detail::dispatch(ops::relu{}, x); }
template <class X> requires detail::loom_operands<X> auto exp(const X& x) { return detail::dispatch(ops::exp{}, x); }
template <class X> requires detail::loom_operands<X> auto log(const X& x) { return detail::dispatch(ops::log{}, x); }
template <class X> requires detail::loom_operands<X> auto sqrt(const X& x) { return detail::dispatch(ops::sqrt{}, x); }
template <class X> requires detail::loom_operands<X> auto rsqrt(const X& x) { return detail::dispatch(ops::rsqrt{}, x); }
template <class X> requires detail::loom_operands<X> auto sin(const X& x) { return detail::dispatch(ops::sin{}, x); }
template <class X> requires detail::loom_operands<X> auto cos(const X& x) { return detail::dispatch(ops::cos{}, x); }
template <class X> requires detail::loom_operands<X> auto tanh(const X& x) { return detail::dispatch(ops::tanh{}, x); }
template <class X> requires detail::loom_operands<X> auto sigmoid(const X& x) { return detail::dispatch(ops::sigmoid{}, x); }
template <class X> requires detail::loom_operands<X> auto gelu(const X& x) { return detail::dispatch(ops::gelu{}, x); }
template <class X> requires detail::loom_operands<X> auto stop_gradient(const X& x) { return detail::dispatch(ops::stop_gradient{}, x); }
template <dtype U, class X> requires detail::loom_operands<X> auto cast(const X& x) { return detail::dispatch(ops::cast<U>{}, x); }

template <class A, class B> requires detail::loom_operands<A, B> auto pow(const A& a, const B& b) { return detail::dispatch(ops::pow{}, a, b); }
template <class A, class B> requires detail::loom_operands<A, B> auto minimum(const A& a, const B& b) { return detail::dispatch(ops::minimum{}, a, b); }
template <class A, class B> requires detail::loom_operands<A, B> auto maximum(const A& a, const B& b) { return detail::dispatch(ops::maximum{}, a, b); }
template <class C, class A, class B> requires detail::loom_operands<C, A, B> auto where(const C& c, const A& a, const B& b) { return detail::dispatch(ops::where{}, c, a, b); }

template <class X> requires detail::loom_operands<X> auto operator-(const X& x) { return neg(x); }
template <class A, class B> requires detail::loom_operands<A, B> auto operator+(const A& a, const B& b) { return detail::dispatch(ops::add{}, a, b); }
template <class A, class B> requires detail::loom_operands<A, B> auto operator-(const A& a, const B& b) { return detail::dispatch(ops::sub{}, a, b); }
template <class A, class B> requires detail::loom_operands<A, B> auto operator*(const A& a, const B& b) { return detail::dispatch(ops::mul{}, a, b); }
template <class A, class B> requires detail::loom_operands<A, B> auto operator/(const A& a, const B& b) { return detail::dispatch(ops::div{}, a, b); }
template <class A, class B> requires detail::loom_operands<A, B> auto operator<(const A& a, const B& b) { return detail::dispatch(ops::less{}, a, b); }
template <class A, class B> requires detail::loom_operands<A, B> auto operator<=(const A& a, const B& b) { return detail::dispatch(ops::less_equal{}, a, b); }
template <class A, class B> requires detail::loom_operands<A, B> auto operator>(const A& a, const B& b) { return detail::dispatch(ops::greater{}, a, b); }
template <class A, class B> requires detail::loom_operands<A, B> auto operator>=(const A& a, const B& b) { return detail::dispatch(ops::greater_equal{}, a, b); }
template <class A, class B> requires detail::loom_operands<A, B> auto operator==(const A& a, const B& b) { return detail::dispatch(ops::equal{}, a, b); }
template <class A, class B> requires detail::loom_operands<A, B> auto operator!=(const A& a, const B& b) { return detail::dispatch(ops::not_equal{}, a, b); }
// clang-format on

// Marks callable F as a black box. Called on traced values it adds one opaque node (the
// tracer never looks into F); on tensors it runs F at once.
// Element-wise F takes one scalar per input and returns a scalar; it is fused into the
// surrounding loop as a plain call. Whole-tensor F (`using granularity = loom::whole_tensor`)
// takes a read-only view of each input and a view of its result, and is called once per run
// on materialised tensors. See opaque_traits for what F may declare.
template <class F>
struct allow_in_graph {
  [[no_unique_address]] F f{};

  template <class... X>
  requires detail::loom_operands<X...>
  auto operator()(const X&... x) const {
    if constexpr (opaque_is_whole_tensor<F>())
      return detail::dispatch(ops::opaque_call<F>{{}, f}, x...);
    else
      return detail::dispatch(ops::opaque<F>{{}, f}, x...);
  }
};

}  // namespace loom
