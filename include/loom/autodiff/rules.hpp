#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/api/ops.hpp"
#include "loom/api/structure.hpp"
#include "loom/api/views.hpp"
#include "loom/autodiff/replay.hpp"
#include "loom/autodiff/view_gradients.hpp"
#include "loom/autodiff/whole_tensor.hpp"
#include "loom/core/config.hpp"
#include "loom/graph/ops/reduce.hpp"

// The backward rule of each op: vjp<K>(op, g, y, x...) is the cotangent that operand K
// receives, where g is the cotangent of the result y = op(x...). Rules are written with
// loom's own ops, so the backward pass is an ordinary traced graph that fuses like any other.
// An element-wise rule returns a value of the result's extents; the walk (backward.hpp) sums
// it over the axes where the operand was broadcast, and casts it to the operand's dtype.
namespace loom::autodiff {

namespace detail {

// a, repeated to x's extents: NumPy broadcasting, without reading x's values in any way
// that changes the result.
template <class A, class X>
auto broadcast_like(const A& a, const X& x) {
  return where(lit<true>, a, x);
}

template <unsigned Mask, bool Keep, class X>
auto sum_over(const X& x) {
  return loom::detail::dispatch(ops::reduce<ops::sum_kind, Mask, Keep>{}, x);
}

// A reduction's cotangent with the reduced axes back, as extents of 1.
template <unsigned Mask, bool Keep, class C>
auto with_reduced_axes(const C& g) {
  if constexpr (Keep || Mask == 0 || C::extents_type::rank == 0)
    return g;
  else
    return loom::detail::dispatch(ops::expand_dims<Mask>{}, g);
}

// The element count a reduction over Mask folds per result element: a literal where those
// extents are static, else counted at run time (a reduction of ones). For a half-precision
// operand, an f32 value: f16 cannot hold a count above 65504, bf16 one above 256 exactly.
template <unsigned Mask, class X>
auto reduced_count(const X& x) {
  using E = typename X::extents_type;
  constexpr double count = [] {
    double n = 1;
    for (std::size_t d = 0; d != E::rank; ++d)
      if (Mask >> d & 1u) n = E::dims[d] == dyn || n < 0 ? -1 : n * double(E::dims[d]);
    return n;
  }();
  constexpr bool half = half_precision<typename X::value_type>;
  if constexpr (count >= 0 && half)
    return cast<float>(lit<count>);
  else if constexpr (count >= 0)
    return lit<count>;
  else if constexpr (half)
    return sum_over<Mask, true>(broadcast_like(lit<1.0>, cast<float>(x)));
  else
    return sum_over<Mask, true>(broadcast_like(lit<1.0>, x));
}

template <std::size_t... P>
constexpr std::array<std::size_t, sizeof...(P)> inverse_order() {
  constexpr std::array<std::size_t, sizeof...(P)> order{P...};
  std::array<std::size_t, sizeof...(P)> inverse{};
  for (std::size_t d = 0; d != order.size(); ++d) inverse[order[d]] = d;
  return inverse;
}

// GELU's slope, Phi(x) + x phi(x), as an element-wise call fused into the backward loop.
struct gelu_slope {
  template <class T>
  LOOM_HD T operator()(T x) const {
    const T pdf = T(0.39894228040143267794) * std::exp(T(-0.5) * x * x);
    return T(0.5) * (T(1) + std::erf(x * T(0.70710678118654752440))) + x * pdf;
  }
};

}  // namespace detail

// Named checks, so that a failure shows the op or the callable in the compiler's note.
template <class Op>
inline constexpr bool has_backward_rule = false;

// Whether gradients pass an allow_in_graph<F>: unless F says `differentiable = false`.
template <class F>
inline constexpr bool opaque_differentiable = [] {
  if constexpr (requires { F::differentiable; })
    return bool(F::differentiable);
  else
    return true;
}();

// Whether F declares its slope along input K for elements T...: derivative(x) for one input,
// derivative<K>(x...) for several.
template <class F, class... T>
concept has_derivative = requires(T... x) {
  F::derivative(x...);
};
template <class F, std::size_t K, class... T>
concept has_partial_derivative = requires(T... x) {
  F::template derivative<K>(x...);
};
template <class F, std::size_t K, class... T>
inline constexpr bool declares_derivative = sizeof...(T) == 1 ? has_derivative<F, T...>
                                                              : has_partial_derivative<F, K, T...>;

// Any op without a rule of its own (user descriptors): a compile error naming it.
template <std::size_t K, class Op, class C, class Y, class... X>
auto vjp(const Op&, const C&, const Y&, const X&...) {
  static_assert(has_backward_rule<Op>,
                "loom: grad: this op has no backward rule, so no gradient can pass it (the op "
                "is named below); cut the path with loom::stop_gradient");
  return no_grad{};
}

// clang-format off
template <std::size_t K, class C, class Y, class X> auto vjp(const ops::neg&, const C& g, const Y&, const X&) { return -g; }
template <std::size_t K, class C, class Y, class X> auto vjp(const ops::abs&, const C& g, const Y&, const X& x) { return where(x > lit<0>, g, where(x < lit<0>, -g, lit<0>)); }
template <std::size_t K, class C, class Y, class X> auto vjp(const ops::square&, const C& g, const Y&, const X& x) { return g * (x + x); }
template <std::size_t K, class C, class Y, class X> auto vjp(const ops::relu&, const C& g, const Y&, const X& x) { return where(x > lit<0>, g, lit<0>); }
template <std::size_t K, class C, class Y, class X> auto vjp(const ops::exp&, const C& g, const Y& y, const X&) { return g * y; }
template <std::size_t K, class C, class Y, class X> auto vjp(const ops::log&, const C& g, const Y&, const X& x) { return g / x; }
template <std::size_t K, class C, class Y, class X> auto vjp(const ops::sqrt&, const C& g, const Y& y, const X&) { return lit<0.5> * g / y; }
template <std::size_t K, class C, class Y, class X> auto vjp(const ops::rsqrt&, const C& g, const Y& y, const X& x) { return lit<-0.5> * g * y / x; }
template <std::size_t K, class C, class Y, class X> auto vjp(const ops::sin&, const C& g, const Y&, const X& x) { return g * cos(x); }
template <std::size_t K, class C, class Y, class X> auto vjp(const ops::cos&, const C& g, const Y&, const X& x) { return -g * sin(x); }
template <std::size_t K, class C, class Y, class X> auto vjp(const ops::tanh&, const C& g, const Y& y, const X&) { return g * (lit<1> - square(y)); }
template <std::size_t K, class C, class Y, class X> auto vjp(const ops::sigmoid&, const C& g, const Y& y, const X&) { return g * (y * (lit<1> - y)); }
template <std::size_t K, class C, class Y, class X> auto vjp(const ops::gelu&, const C& g, const Y&, const X& x) { return g * allow_in_graph<detail::gelu_slope>{}(x); }
template <std::size_t K, class C, class Y, class X> auto vjp(const ops::stop_gradient&, const C&, const Y&, const X&) { return no_grad{}; }
template <std::size_t K, class C, class Y, class X> auto vjp(const ops::cotangent_seed&, const C&, const Y&, const X&) { return no_grad{}; }
template <std::size_t K, dtype U, class C, class Y, class X> auto vjp(const ops::cast<U>&, const C& g, const Y&, const X&) { return g; }
template <std::size_t K, class Fn, class C, class Y, class X> auto vjp(const ops::hook<Fn>&, const C& g, const Y&, const X&) { return g; }
template <std::size_t K, class C, class Y, class X> auto vjp(const ops::barrier&, const C& g, const Y&, const X&) { return g; }
template <std::size_t K, class Fn, class C, class Y, class X> auto vjp(const ops::grad_hook<Fn>& op, const C& g, const Y&, const X&) { return hook(g, op.callback); }
template <std::size_t K, class C, class Y, class A, class B> auto vjp(const ops::add&, const C& g, const Y&, const A&, const B&) { return g; }
template <std::size_t K, class C, class Y, class A, class B> auto vjp(const ops::sub&, const C& g, const Y&, const A&, const B&) { if constexpr (K == 0) return g; else return -g; }
template <std::size_t K, class C, class Y, class A, class B> auto vjp(const ops::mul&, const C& g, const Y&, const A& a, const B& b) { if constexpr (K == 0) return g * b; else return g * a; }
template <std::size_t K, class C, class Y, class A, class B> auto vjp(const ops::div&, const C& g, const Y& y, const A&, const B& b) { if constexpr (K == 0) return g / b; else return -g * y / b; }
// clang-format on

// pow(a, b): b a^(b-1) and a^b log(a); as torch, the first is 0 where b is 0 (not 0 * inf
// at a = 0), the second 0 where a is 0 and b >= 0.
template <std::size_t K, class C, class Y, class A, class B>
auto vjp(const ops::pow&, const C& g, const Y& y, const A& a, const B& b) {
  if constexpr (K == 0) {
    return where(b == lit<0>, lit<0>, g * b * pow(a, b - lit<1>));
  } else {
    const auto slope = g * y * log(a);
    return where(a == lit<0>, where(b >= lit<0>, lit<0>, slope), slope);
  }
}

// maximum and minimum: the operand that wins gets the gradient, and a tie splits it evenly,
// as torch does.
template <std::size_t K, bool Max, class C, class A, class B>
auto extremum_vjp(const C& g, const A& a, const B& b) {
  const auto tie = where(a == b, lit<0.5> * g, lit<0>);
  // Operand K wins where it is the larger (maximum) or the smaller (minimum) one.
  if constexpr (Max == (K == 0))
    return where(a > b, g, tie);
  else
    return where(a < b, g, tie);
}
template <std::size_t K, class C, class Y, class A, class B>
auto vjp(const ops::maximum&, const C& g, const Y&, const A& a, const B& b) {
  return extremum_vjp<K, true>(g, a, b);
}
template <std::size_t K, class C, class Y, class A, class B>
auto vjp(const ops::minimum&, const C& g, const Y&, const A& a, const B& b) {
  return extremum_vjp<K, false>(g, a, b);
}

// Comparisons give booleans: no gradient reaches their operands.
template <std::size_t K, class Op, class C, class Y, class A, class B>
requires std::derived_from<Op, ops::comparison>
auto vjp(const Op&, const C&, const Y&, const A&, const B&) {
  return no_grad{};
}

// where(c, a, b): the condition gets none; each branch what it was chosen for.
template <std::size_t K, class C, class Y, class Cond, class A, class B>
auto vjp(const ops::where&, const C& g, const Y&, const Cond& c, const A&, const B&) {
  if constexpr (K == 0)  // a floating-point condition is read as a bool
    return no_grad{};
  else if constexpr (K == 1)
    return where(c, g, lit<0>);
  else
    return where(c, lit<0>, g);
}

// An element-wise allow_in_graph<F>: F's derivative, fused into the backward loop as F is
// into the forward one. F declares `static T derivative(T x)` (one input) or
// `template <std::size_t K> static T derivative(T... x)` (the slope along input K), or
// `static constexpr bool differentiable = false`.
template <class F, std::size_t K>
struct derivative_of {
  template <class... T>
  LOOM_HD auto operator()(T... x) const {
    if constexpr (sizeof...(T) == 1)
      return F::derivative(x...);
    else
      return F::template derivative<K>(x...);
  }
};
template <std::size_t K, class F, class C, class Y, class... X>
auto vjp(const ops::opaque<F>&, const C& g, const Y&, const X&... x) {
  static_assert(
      declares_derivative<F, K, typename X::value_type...> || !opaque_differentiable<F>,
      "loom: grad: allow_in_graph<F> is on a differentiated path, but F declares no "
      "derivative (static T derivative(T x), or derivative<K>(x...) for several inputs) and "
      "is not marked differentiable = false (F is named below)");
  if constexpr (!opaque_differentiable<F> || !declares_derivative<F, K, typename X::value_type...>)
    return no_grad{};
  else
    return g * allow_in_graph<derivative_of<F, K>>{}(x...);
}

// A whole-tensor allow_in_graph<F>: F::backward (whole_tensor.hpp), called once per run of
// the backward pass on the materialised inputs, output and cotangent.
template <std::size_t K, class F, class C, class Y, class... X>
auto vjp(const ops::opaque_call<F>& op, const C& g, const Y& y, const X&... x) {
  static_assert(declares_backward<F> || !opaque_differentiable<F>,
                "loom: grad: a whole-tensor allow_in_graph<F> is on a differentiated path, but F "
                "declares no backward(inputs..., output, grad_output, grad_inputs...) and is not "
                "marked differentiable = false (F is named below)");
  using XK = std::tuple_element_t<K, std::tuple<X...>>;
  if constexpr (!opaque_differentiable<F> || !declares_backward<F> ||
                !floating<typename XK::value_type>)
    return no_grad{};
  else
    return allow_in_graph<whole_tensor_backward<F, K, sizeof...(X)>>{{op.f}}(x..., y, g);
}

// Reductions: the cotangent spread back over the folded elements.
template <std::size_t K, class Kind, unsigned Mask, bool Keep, class C, class Y, class X>
auto vjp(const ops::reduce<Kind, Mask, Keep>&, const C& g, const Y& y, const X& x) {
  using T = typename X::value_type;
  const auto g_kept = detail::with_reduced_axes<Mask, Keep>(g);
  if constexpr (std::is_same_v<Kind, ops::sum_kind>) {
    return detail::broadcast_like(g_kept, x);
  } else if constexpr (std::is_same_v<Kind, ops::mean_kind>) {
    return detail::broadcast_like(g_kept / detail::reduced_count<Mask>(x), x);
  } else if constexpr (std::is_same_v<Kind, ops::max_with_identity_kind>) {
    // Only the shift of softmax, log_softmax and logsumexp, which their value does not
    // depend on: its gradient is exactly zero.
    return no_grad{};
  } else if constexpr (std::is_same_v<Kind, ops::max_kind> || std::is_same_v<Kind, ops::min_kind>) {
    // Ties split the gradient evenly, as torch.amax and torch.amin.
    const auto chosen = x == detail::with_reduced_axes<Mask, Keep>(y);
    const auto ties = detail::sum_over<Mask, true>(cast<T>(chosen));
    return where(chosen, g_kept / ties, lit<0>);
  } else if constexpr (std::is_same_v<Kind, ops::prod_kind>) {
    // The product of the others: y / x without zeros; with one zero, the product of the
    // rest at the zero and 0 elsewhere; with more, 0.
    const auto is_zero = x == lit<0>;
    const auto zeros = detail::sum_over<Mask, true>(cast<T>(is_zero));
    const auto others = loom::detail::dispatch(ops::reduce<ops::prod_kind, Mask, true>{},
                                               where(is_zero, lit<1>, x));
    return where(is_zero,
                 where(zeros == lit<1>, g_kept * others, lit<0>),
                 g_kept * detail::with_reduced_axes<Mask, Keep>(y) / x);
  } else {
    static_assert(has_backward_rule<Kind>,
                  "loom: grad: this reduction has no backward rule (its rule is named below)");
    return no_grad{};
  }
}

// Views: the inverse index map.
template <std::size_t K, extents_type To, class C, class Y, class X>
auto vjp(const ops::reshape<To>&, const C& g, const Y&, const X& x) {
  using XE = typename X::extents_type;
  // A view where one extent at most is left to infer; else a copy to the operand's shape.
  if constexpr (XE::rank_dynamic <= 1)
    return loom::detail::dispatch(ops::reshape<XE>{}, g);
  else
    return allow_in_graph<reshape_gradient<XE>>{}(g, x);
}
template <std::size_t K, std::size_t... P, class C, class Y, class X>
auto vjp(const ops::permute<P...>&, const C& g, const Y&, const X&) {
  constexpr auto inverse = detail::inverse_order<P...>();
  return [&]<std::size_t... D>(std::index_sequence<D...>) {
    return loom::detail::dispatch(ops::permute<inverse[D]...>{}, g);
  }
  (std::make_index_sequence<sizeof...(P)>{});
}
template <std::size_t K, extents_type To, class C, class Y, class X>
auto vjp(const ops::broadcast_to<To>&, const C& g, const Y&, const X&) {
  return g;  // summed over the broadcast axes by the walk
}
template <std::size_t K, unsigned Mask, class C, class Y, class X>
auto vjp(const ops::expand_dims<Mask>&, const C& g, const Y&, const X&) {
  return detail::sum_over<Mask, false>(g);
}
template <std::size_t K,
          std::size_t A,
          std::ptrdiff_t B,
          std::ptrdiff_t E,
          std::ptrdiff_t S,
          class C,
          class Y,
          class X>
auto vjp(const ops::slice<A, B, E, S>&, const C& g, const Y&, const X& x) {
  using F = slice_gradient<ops::slice<A, B, E, S>, typename X::extents_type>;
  if constexpr (F::reads_operand)
    return allow_in_graph<F>{}(g, x);
  else
    return allow_in_graph<F>{}(g);
}

// matmul: two GEMMs on transposed views; the walk sums over broadcast batch axes.
template <std::size_t K, class C, class Y, class A, class B>
auto vjp(const ops::matmul&, const C& g, const Y&, const A& a, const B& b) {
  if constexpr (K == 0)
    return matmul(g, transpose(b));
  else
    return matmul(transpose(a), g);
}

}  // namespace loom::autodiff
