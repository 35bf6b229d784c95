#pragma once

// The models of the typed cases (*_cases.hpp), written once: the typed tests run them on every
// backend and dtype against double-precision references, and tests/onnx exports them and runs
// them in onnxruntime. Models only: their inputs, references and tolerances are in the cases.

#include <loom/loom.hpp>

#include <cstdint>
#include <tuple>

namespace loom_typed {

using loom::dyn;
using loom::extents;

// --- elementwise (elementwise_cases.hpp) ---

inline constexpr auto floating_unary_model = [](auto x, auto p) {
  return std::make_tuple(loom::exp(x),
                         loom::log(p),
                         loom::sqrt(p),
                         loom::rsqrt(p),
                         loom::sin(x),
                         loom::cos(x),
                         loom::tanh(x),
                         loom::sigmoid(x),
                         loom::gelu(x));
};

inline constexpr auto arithmetic_unary_model = [](auto x) {
  return std::make_tuple(loom::neg(x), loom::abs(x), loom::square(x), loom::relu(x));
};

// a and d are [M, N], b is [N] (a row), c and p are [M, 1] (columns; p positive, the base of
// pow, which it raises to b: an outer product of two broadcasts).
inline constexpr auto binary_model = [](auto a, auto b, auto c, auto d, auto p) {
  return std::make_tuple(a + d,
                         a - b,
                         a * c,
                         a / d,
                         loom::pow(p, b),
                         loom::minimum(a, d),
                         loom::maximum(a, c),
                         loom::minimum(c, b),
                         a * 2 + 1);
};

inline constexpr auto comparison_model = [](auto a, auto b) {
  return std::make_tuple(a<b, a <= b, a> b, a >= b, a == b, a != b, a >= 1);
};

inline constexpr auto where_model = [](auto cond, auto a, auto b) {
  return std::make_tuple(
      loom::where(cond, a, b), loom::where(a > b, a, b), loom::where(cond, a, 0));
};

// x of the tested dtype, i i32, c bool: every conversion between them.
inline constexpr auto cast_model = [](auto x, auto i, auto c) {
  return std::make_tuple(loom::cast<std::int32_t>(x),
                         loom::cast<bool>(x),
                         loom::cast<float>(x),
                         loom::cast<double>(x),
                         loom::cast<typename decltype(x)::value_type>(i),
                         loom::cast<typename decltype(x)::value_type>(c),
                         loom::cast<std::int32_t>(c),
                         loom::cast<bool>(i));
};

// --- reduction (reduction_cases.hpp) ---

// The reductions of x over the axes Options name, one result per kind (argmax where it may:
// over one axis or all of them).
template <bool WithArgmax, class X, class... Options>
auto every_reduction(const X& x, Options... o) {
  auto common = std::make_tuple(loom::sum(x, o...),
                                loom::mean(x, o...),
                                loom::max(x, o...),
                                loom::min(x, o...),
                                loom::prod(x, o...));
  if constexpr (WithArgmax)
    return std::tuple_cat(common, std::make_tuple(loom::argmax(x, o...)));
  else
    return common;
}

inline constexpr auto reduce_last_model = [](auto x) {
  return every_reduction<true>(x, loom::axes<-1>);
};

inline constexpr auto reduce_leading_kept_model = [](auto x) {
  return every_reduction<true>(x, loom::axes<0>, loom::keepdims);
};

inline constexpr auto reduce_all_model = [](auto x) {
  return every_reduction<true>(x);
};

inline constexpr auto reduce_two_kept_model = [](auto x) {
  return every_reduction<false>(x, loom::axes<0, 2>, loom::keepdims);
};

// --- view (view_cases.hpp) ---

// x is [M, N]; y is [A, 5, C] (the 5 static, so that reshape to [?, 5] is checked at compile
// time); c is [M, 1].
inline constexpr auto view_model = [](auto x, auto y, auto c) {
  return std::make_tuple(loom::transpose(x),                                   // [N, M]
                         loom::transpose(y),                                   // [A, C, 5]
                         loom::permute<2, 0, 1>(y),                            // [C, A, 5]
                         loom::reshape<extents<dyn, 5>>(y),                    // [A C, 5]
                         loom::slice<1, 1, -1, 3>(x),                          // x[:, 1:-1:3]
                         loom::slice<0, 1, loom::ops::slice_end, 2>(x),        // x[1::2]
                         loom::slice<2, -3>(y),                                // y[..., -3:]
                         loom::broadcast_to<extents<4, dyn, 9>>(c),            // [4, M, 9]
                         loom::reshape<extents<dyn>>(loom::transpose(x)) * 2,  // [N M]
                         loom::expand_dims<0, 2>(loom::transpose(x)));         // [1, N, 1, M]
};

// --- matmul (matmul_cases.hpp) ---

inline constexpr auto matmul_model = [](auto a, auto b) {
  return loom::matmul(a, b);
};

// a [B, M, K] against b [B, K, N] and against w [K, N], shared by every batch.
inline constexpr auto batched_matmul_model = [](auto a, auto b, auto w) {
  return std::make_tuple(loom::matmul(a, b), loom::matmul(a, w));
};

// a [M, K] times bt [N, K] transposed, plus a bias [N] on every row.
inline constexpr auto matmul_epilogue_model = [](auto a, auto bt, auto bias) {
  return loom::matmul(a, loom::transpose(bt)) + bias;
};

// --- composites (composite_cases.hpp) ---

inline constexpr double layer_norm_eps = 1e-5;

// x [R, C]; gamma and beta [C].
inline constexpr auto rows_model = [](auto x, auto gamma, auto beta) {
  return std::make_tuple(loom::softmax(x),
                         loom::log_softmax(x),
                         loom::logsumexp(x),
                         loom::logsumexp(x, loom::keepdims),
                         loom::layer_norm(x, layer_norm_eps),
                         loom::layer_norm(x, gamma, beta, layer_norm_eps),
                         loom::gelu_tanh(x));
};

inline constexpr auto columns_model = [](auto x) {
  return std::make_tuple(loom::softmax(x, loom::axes<0>),
                         loom::log_softmax(x, loom::axes<0>),
                         loom::logsumexp(x, loom::axes<0>));
};

// pred and target [R, C]; probs [R, C], each row a distribution over the classes.
inline constexpr auto loss_model = [](auto pred, auto target, auto probs) {
  return std::make_tuple(loom::mse_loss(pred, target), loom::cross_entropy(pred, probs));
};

inline constexpr auto layer_norm_model = [](auto x, auto gamma, auto beta) {
  return loom::layer_norm(x, gamma, beta, layer_norm_eps);
};

}  // namespace loom_typed
