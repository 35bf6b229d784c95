#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "loom/api/gather.hpp"
#include "loom/api/ops.hpp"
#include "loom/api/reduce.hpp"
#include "loom/api/views.hpp"

// Composite ops, written only from loom's public primitives: on traced values they build
// ordinary nodes (so they fuse, and later differentiate and export, like anything the user
// writes), on tensors they run eagerly op by op.
namespace loom {

namespace detail {

inline constexpr float inf_f = std::numeric_limits<float>::infinity();

// The promotion of the dtypes of a composite's loom operands (C++ scalars are weak: left out).
template <class Acc, class X, class... Rest>
constexpr auto strong_dtype() {
  using Next = typename decltype([] {
    if constexpr (scalar<X>)
      return std::type_identity<Acc>{};
    else if constexpr (std::is_void_v<Acc>)
      return std::type_identity<typename X::value_type>{};
    else
      return std::type_identity<promote_t<Acc, typename X::value_type>>{};
  }())::type;
  if constexpr (sizeof...(Rest) == 0)
    return std::type_identity<Next>{};
  else
    return strong_dtype<Next, Rest...>();
}

template <class X>
auto as_f32(const X& x) {
  if constexpr (!scalar<X> && half_precision<typename X::value_type>)
    return cast<float>(x);
  else
    return x;
}

// f(x...), the body of a composite. On half-precision operands it computes in f32 and rounds
// its result once, as PyTorch's kernels for these ops do: a row's max, sum, mean and variance
// stay f32 values, and a constant such as layer_norm's eps keeps its f32 value.
template <class F, class... X>
auto in_f32(F f, const X&... x) {
  using R = typename decltype(strong_dtype<void, X...>())::type;
  if constexpr (half_precision<R>)
    return cast<R>(f(as_f32(x)...));
  else
    return f(x...);
}

// The shift softmax, log_softmax and logsumexp subtract before exp: the max over the axes,
// kept to broadcast against x, so that no exp overflows. An infinite max is replaced, as
// torch.logsumexp replaces it, so that x - shift is never inf - inf: a max of -inf by 0 (a row
// of -inf: logsumexp -inf), a max of +inf by the dtype's largest finite value (the +inf
// entries stay +inf, and every finite entry falls far below exp's range, to exp 0:
// logsumexp +inf, softmax NaN at the +inf entries and 0 elsewhere). An empty row's max is
// -inf, so its logsumexp is -inf and its softmax empty, where max itself would throw. NaN
// stays NaN. The literals keep this in the type, so every use of it in one model is one node.
template <class X, int... A>
auto finite_max(const X& x, axes_t<A...> ax) {
  const auto m = reduction<ops::max_with_identity_kind>(x, ax, keepdims);
  constexpr auto largest = static_cast<compute_t<floating_t<typename decltype(m)::value_type>>>(
      std::numeric_limits<floating_t<typename decltype(m)::value_type>>::max());
  return where(m == lit<-inf_f>, lit<0.f>, minimum(m, lit<largest>));
}

// log(sum(exp(s))) over the axes, kept, for s = x - finite_max(x).
template <class S, int... A>
auto log_sum_exp_kept(const S& shifted, axes_t<A...> ax) {
  return log(loom::sum(exp(shifted), ax, keepdims));
}

}  // namespace detail

// softmax(x[, axes<A>]): exp(x) / sum(exp(x)) over the last axis (or A), computed from x minus
// its max so that no exp overflows. One fused pass for reductions over trailing axes.
// A row of -inf gives NaN (0 / 0), as in torch; where a row holds +inf, the +inf entries give
// NaN and the others 0 (torch: NaN everywhere in the row).
template <detail::reducible X, int... A>
auto softmax(const X& x, axes_t<A...> ax) {
  return detail::in_f32(
      [ax](const auto& v) {
        const auto e = exp(v - detail::finite_max(v, ax));
        return e / loom::sum(e, ax, keepdims);
      },
      x);
}
template <detail::reducible X>
auto softmax(const X& x) {
  return softmax(x, axes<-1>);
}

// log_softmax(x[, axes<A>]): x - max - log(sum(exp(x - max))). A row of -inf gives NaN, as
// in torch; a row holding +inf gives NaN at the +inf entries and -inf elsewhere.
template <detail::reducible X, int... A>
auto log_softmax(const X& x, axes_t<A...> ax) {
  return detail::in_f32(
      [ax](const auto& v) {
        const auto shifted = v - detail::finite_max(v, ax);
        return shifted - detail::log_sum_exp_kept(shifted, ax);
      },
      x);
}
template <detail::reducible X>
auto log_softmax(const X& x) {
  return log_softmax(x, axes<-1>);
}

// logsumexp(x[, axes<A>][, keepdims]): log(sum(exp(x))) over the last axis (or A) without
// overflow, as torch.logsumexp: -inf for a row of -inf, +inf for a row holding +inf. The
// reduced axes are dropped unless keepdims is given.
template <detail::reducible X, int... A, class... Keep>
requires(sizeof...(Keep) <= 1 && (std::is_same_v<Keep, keepdims_t> &&
                                  ...)) auto logsumexp(const X& x, axes_t<A...> ax, Keep...) {
  return detail::in_f32(
      [ax](const auto& v) {
        const auto m = detail::finite_max(v, ax);
        const auto kept = m + detail::log_sum_exp_kept(v - m, ax);
        if constexpr (sizeof...(Keep) == 1)
          return kept;
        else
          return loom::sum(kept, ax);  // over extents of 1: drops the axes, adds nothing
      },
      x);
}
template <detail::reducible X, class... Keep>
requires(sizeof...(Keep) <= 1 &&
         (std::is_same_v<Keep, keepdims_t> && ...)) auto logsumexp(const X& x, Keep... keep) {
  return logsumexp(x, axes<-1>, keep...);
}

// layer_norm(x, gamma, beta, eps) and layer_norm(x, eps): normalised over the last axis with
// the biased variance, as torch.nn.functional.layer_norm. The variance is the mean of
// (x - mean)^2 rather than mean(x^2) - mean^2, which cancels catastrophically when the mean
// is large against the spread. eps is a run-time scalar: one compiled model serves every eps.
template <detail::reducible X>
auto layer_norm(const X& x, double eps) {
  return detail::in_f32(
      [eps](const auto& v) {
        const auto centred = v - loom::mean(v, axes<-1>, keepdims);
        const auto var = loom::mean(square(centred), axes<-1>, keepdims);
        return centred * rsqrt(var + eps);
      },
      x);
}
template <detail::reducible X, class G, class B>
requires detail::loom_operands<X, G, B>
auto layer_norm(const X& x, const G& gamma, const B& beta, double eps) {
  return detail::in_f32(
      [eps](const auto& v, const auto& g, const auto& b) { return layer_norm(v, eps) * g + b; },
      x,
      gamma,
      beta);
}

// gelu_tanh(x): GELU's tanh approximation, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
// torch's gelu(approximate="tanh"). The exact (erf) form is the element-wise op loom::gelu.
template <detail::reducible X>
auto gelu_tanh(const X& x) {
  return detail::in_f32(
      [](const auto& v) {
        constexpr double sqrt_2_over_pi = 0.7978845608028654;
        const auto inner = lit<sqrt_2_over_pi> * (v + lit<0.044715> * v * v * v);
        return lit<0.5> * v * (lit<1.0> + tanh(inner));
      },
      x);
}

// mse_loss(pred, target): the mean of (pred - target)^2 over all elements, rank 0.
template <class P, class T>
requires detail::loom_operands<P, T>
auto mse_loss(const P& pred, const T& target) {
  return detail::in_f32(
      [](const auto& p, const auto& t) { return loom::mean(square(p - t)); }, pred, target);
}

// cross_entropy(logits, target): the mean over rows of -sum(target * log_softmax(logits))
// over the last (class) axis, rank 0: torch's cross_entropy with class probabilities as the
// target.
template <detail::reducible L, class T>
requires detail::loom_operands<L, T> && floating<typename T::value_type>
auto cross_entropy(const L& logits, const T& target) {
  return detail::in_f32(
      [](const auto& l, const auto& t) {
        return -loom::mean(loom::sum(t * log_softmax(l), axes<-1>));
      },
      logits,
      target);
}

// cross_entropy(logits, classes): the mean over rows of -log_softmax(logits)[class], for int32
// class indices with one axis fewer than the logits: torch's cross_entropy with class indices.
// An index outside [-C, C) throws loom::index_error.
template <detail::reducible L, class T>
requires detail::loom_operands<L, T> && std::is_same_v<typename T::value_type, std::int32_t>
auto cross_entropy(const L& logits, const T& classes) {
  static_assert(T::extents_type::rank + 1 == L::extents_type::rank,
                "loom: cross_entropy: class indices have one axis fewer than the logits");
  return detail::in_f32(
      [](const auto& l, const auto& c) {
        return -loom::mean(take_along_axis<-1>(log_softmax(l), expand_dims<-1>(c)));
      },
      logits,
      classes);
}

}  // namespace loom
