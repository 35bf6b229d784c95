#pragma once

#include <limits>

#include "loom/api/ops.hpp"
#include "loom/api/reduce.hpp"

// Composite ops, written only from loom's public primitives: on traced values they build
// ordinary nodes (so they fuse, and later differentiate and export, like anything the user
// writes), on tensors they run eagerly op by op.
namespace loom {

namespace detail {

inline constexpr float inf_f = std::numeric_limits<float>::infinity();

// The max over the axes, kept to broadcast against x, with an infinite max replaced by 0, as
// torch.logsumexp does: x - max is then never inf - inf, so a row of -inf has logsumexp -inf
// and a row holding +inf has logsumexp +inf instead of NaN. An empty row's max is -inf, so
// its logsumexp is -inf and its softmax empty, where max itself would throw. The literals
// keep this in the type, so every use of it in one model is one node.
template <class X, int... A>
auto finite_max(const X& x, axes_t<A...> ax) {
  const auto m = reduction<ops::max_with_identity_kind>(x, ax, keepdims);
  return where(abs(m) == lit<inf_f>, lit<0.f>, m);
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
  const auto e = exp(x - detail::finite_max(x, ax));
  return e / loom::sum(e, ax, keepdims);
}
template <detail::reducible X>
auto softmax(const X& x) {
  return softmax(x, axes<-1>);
}

// log_softmax(x[, axes<A>]): x - max - log(sum(exp(x - max))). A row of -inf gives NaN, as
// in torch; a row holding +inf gives NaN at the +inf entries and -inf elsewhere.
template <detail::reducible X, int... A>
auto log_softmax(const X& x, axes_t<A...> ax) {
  const auto shifted = x - detail::finite_max(x, ax);
  return shifted - detail::log_sum_exp_kept(shifted, ax);
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
  const auto m = detail::finite_max(x, ax);
  const auto kept = m + detail::log_sum_exp_kept(x - m, ax);
  if constexpr (sizeof...(Keep) == 1)
    return kept;
  else
    return loom::sum(kept, ax);  // over extents of 1: drops the axes, adds nothing
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
  const auto centred = x - loom::mean(x, axes<-1>, keepdims);
  const auto var = loom::mean(square(centred), axes<-1>, keepdims);
  return centred * rsqrt(var + eps);
}
template <detail::reducible X, class G, class B>
requires detail::loom_operands<X, G, B>
auto layer_norm(const X& x, const G& gamma, const B& beta, double eps) {
  return layer_norm(x, eps) * gamma + beta;
}

// gelu_tanh(x): GELU's tanh approximation, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
// torch's gelu(approximate="tanh"). The exact (erf) form is the element-wise op loom::gelu.
template <detail::reducible X>
auto gelu_tanh(const X& x) {
  constexpr double sqrt_2_over_pi = 0.7978845608028654;
  const auto inner = lit<sqrt_2_over_pi> * (x + lit<0.044715> * x * x * x);
  return lit<0.5> * x * (lit<1.0> + tanh(inner));
}

// mse_loss(pred, target): the mean of (pred - target)^2 over all elements, rank 0.
template <class P, class T>
requires detail::loom_operands<P, T>
auto mse_loss(const P& pred, const T& target) {
  return loom::mean(square(pred - target));
}

// cross_entropy(logits, target): the mean over rows of -sum(target * log_softmax(logits))
// over the last (class) axis, rank 0; torch's cross_entropy with class probabilities as the
// target. Class-index targets would need a gather op, which loom does not have: one-hot
// encode them into probabilities first.
template <detail::reducible L, class T>
requires detail::loom_operands<L, T>
auto cross_entropy(const L& logits, const T& target) {
  return -loom::mean(loom::sum(target * log_softmax(logits), axes<-1>));
}

}  // namespace loom
