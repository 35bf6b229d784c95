#pragma once

// Every composite of include/loom/api/composites.hpp (softmax, log_softmax, logsumexp,
// layer_norm, gelu_tanh, mse_loss, cross_entropy) on every backend (backends.hpp): along the
// rows and along the columns of a matrix with dynamic extents, and layer_norm along rows of a
// static length; against double-precision loops here (layer_norm:
// tests/common/rows_reference.hpp).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "../common/rows_reference.hpp"
#include "backends.hpp"
#include "models.hpp"

namespace loom_typed {

// Shapes [R, C]: one element; rows narrower than a block; rows of 1003 (packs and a tail);
// rows of 3000 (a CUDA block per row).
inline constexpr std::size_t composite_shapes[][2] = {{1, 1}, {7, 33}, {3, 1003}, {2, 3000}};

// softmax, log_softmax and logsumexp along each line of a row-major [R, C] matrix (its rows,
// or its columns), the textbook way: shift by the max, sum the exps. Each with the magnitude
// its rounding error scales with: softmax its value; log_softmax |x - max| + |log sum| + 1
// (the subtraction rounds, and log turns the sum's relative error into an absolute one);
// logsumexp |max| + |log sum| + 1.
struct softmax_references {
  reference softmax, log_softmax, logsumexp;
};

template <class Tensor>
softmax_references softmax_reference(const Tensor& x, bool along_columns) {
  const std::size_t rows = x.shape().dims[0], cols = x.shape().dims[1];
  const std::size_t count = along_columns ? cols : rows, length = along_columns ? rows : cols;
  const std::size_t stride = along_columns ? 1 : cols, step = along_columns ? cols : 1;
  softmax_references r;
  r.softmax = {x.shape(), std::vector<double>(x.size()), {}};
  r.log_softmax = {x.shape(), std::vector<double>(x.size()), std::vector<double>(x.size())};
  r.logsumexp = {along_columns ? make_shape({cols}) : make_shape({rows}),
                 std::vector<double>(count),
                 std::vector<double>(count)};
  for (std::size_t line = 0; line < count; ++line) {
    const auto flat = [&](std::size_t k) {
      return line * stride + k * step;
    };
    double top = -std::numeric_limits<double>::infinity(), sum = 0;
    for (std::size_t k = 0; k < length; ++k) top = std::max(top, at(x, flat(k)));
    for (std::size_t k = 0; k < length; ++k) sum += std::exp(at(x, flat(k)) - top);
    const double log_sum = std::log(sum);
    for (std::size_t k = 0; k < length; ++k) {
      const double shifted = at(x, flat(k)) - top;
      r.softmax.value[flat(k)] = std::exp(shifted) / sum;
      r.log_softmax.value[flat(k)] = shifted - log_sum;
      r.log_softmax.scale[flat(k)] = std::abs(shifted) + std::abs(log_sum) + 1;
    }
    r.logsumexp.value[line] = top + log_sum;
    r.logsumexp.scale[line] = std::abs(top) + std::abs(log_sum) + 1;
  }
  return r;
}

// A reference with an extent of 1 appended (logsumexp with keepdims).
inline reference kept(reference r) {
  r.shape.dims[r.shape.rank++] = 1;
  return r;
}

// Tolerances, as multiples of T's epsilon (2 unit roundoffs), against the scales above. The
// CPU's worst cases (tests/unit/composites_test.cpp) are a quarter to a third of half these;
// the device's exp, log and rsqrt and its summation orders get the other half.
// softmax: exp's argument x - max rounds by up to |x - max| / 2 ulps and the row sum folds
// thousands of terms; the absolute part admits a denormal (or flushed) exp.
template <class T>
tolerance softmax_tol() {
  return {64 * 2 * unit_roundoff<T>, 1e-30};
}
template <class T>
tolerance log_tol() {
  return {16 * 2 * unit_roundoff<T>};
}
// layer_norm, relative to |gamma| (|z| + |mean| / sigma + 1) + |beta|: the mean is a few ulps
// of |mean| off, which the normalisation magnifies by 1 / sigma.
template <class T>
tolerance norm_tol() {
  return {24 * 2 * unit_roundoff<T>};
}

// layer_norm's reference with gamma and beta given as tensors, or 1 and 0 (nullptr).
template <class Tensor, class Vec>
reference layer_norm_reference(const Tensor& x, const Vec* gamma, const Vec* beta) {
  using T = typename Tensor::value_type;
  const std::size_t rows = x.shape().dims[0], cols = x.shape().dims[1];
  const std::vector<T> ones(cols, T(1)), zeros(cols, T(0));
  return loom_test::layer_norm_rows_reference(x.data(),
                                              rows,
                                              cols,
                                              gamma ? gamma->data() : ones.data(),
                                              beta ? beta->data() : zeros.data(),
                                              layer_norm_eps);
}

template <class TestType, class Got>
void check_scaled(const Got& got, const reference& want, tolerance tol, const std::string& what) {
  LOOM_CHECK_REPORT(compare(got, want, tol, label<TestType>(what)));
}

}  // namespace loom_typed

TEMPLATE_PRODUCT_TEST_CASE("typed: softmax log_softmax logsumexp layer_norm gelu_tanh",
                           "[typed][composites][broadcast]",
                           LOOM_TYPED_BACKENDS,
                           LOOM_TYPED_FLOATS) {
  using namespace loom_typed;
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  using mat = loom::tensor<T, extents<dyn, dyn>>;
  using vec = loom::tensor<T, extents<dyn>>;
  auto rows = B::compile(rows_model,
                         loom::input<T, extents<dyn, dyn>>{},
                         loom::input<T, extents<dyn>>{},
                         loom::input<T, extents<dyn>>{});
  auto columns = B::compile(columns_model, loom::input<T, extents<dyn, dyn>>{});
  std::uint32_t seed = 110;
  for (const auto& [r, c] : composite_shapes) {
    const loom::shape s = make_shape({r, c});
    mat x(s);
    vec gamma(make_shape({c})), beta(make_shape({c}));
    loom_test::fill_normal(x, seed++, 0, 3);
    loom_test::fill_normal(gamma, seed++, 1, 0.5);
    loom_test::fill_normal(beta, seed++, 0, 1);
    const std::string what = " of " + s.to_string();

    const auto got = B::run(rows, x, gamma, beta);
    const softmax_references along_rows = softmax_reference(x, false);
    check_scaled<TestType>(
        std::get<0>(got), along_rows.softmax, softmax_tol<T>(), "softmax" + what);
    check_scaled<TestType>(
        std::get<1>(got), along_rows.log_softmax, log_tol<T>(), "log_softmax" + what);
    check_scaled<TestType>(
        std::get<2>(got), along_rows.logsumexp, log_tol<T>(), "logsumexp" + what);
    check_scaled<TestType>(
        std::get<3>(got), kept(along_rows.logsumexp), log_tol<T>(), "logsumexp keepdims" + what);
    check_scaled<TestType>(std::get<4>(got),
                           layer_norm_reference<mat, vec>(x, nullptr, nullptr),
                           norm_tol<T>(),
                           "layer_norm(x, eps)" + what);
    check_scaled<TestType>(std::get<5>(got),
                           layer_norm_reference(x, &gamma, &beta),
                           norm_tol<T>(),
                           "layer_norm(x, gamma, beta, eps)" + what);
    // For negative x, 1 + tanh cancels: the error scales with |x| (tanh's few ulps of 1, times
    // x / 2), not with the result.
    reference gelu = reference_of(s, [&](std::size_t i) {
      const double v = at(x, i);
      const double inner = 0.7978845608028654 * (v + 0.044715 * v * v * v);
      return 0.5 * v * (1 + std::tanh(inner));
    });
    gelu.scale.resize(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) gelu.scale[i] = std::abs(at(x, i)) + 1;
    check_scaled<TestType>(
        std::get<6>(got), gelu, {8 * 2 * unit_roundoff<T>, 0}, "gelu_tanh" + what);

    const auto by_column = B::run(columns, x);
    const softmax_references along_columns = softmax_reference(x, true);
    check_scaled<TestType>(
        std::get<0>(by_column), along_columns.softmax, softmax_tol<T>(), "softmax axes<0>" + what);
    check_scaled<TestType>(std::get<1>(by_column),
                           along_columns.log_softmax,
                           log_tol<T>(),
                           "log_softmax axes<0>" + what);
    check_scaled<TestType>(
        std::get<2>(by_column), along_columns.logsumexp, log_tol<T>(), "logsumexp axes<0>" + what);
  }
}

TEMPLATE_PRODUCT_TEST_CASE("typed: mse_loss and cross_entropy, layer_norm over static rows",
                           "[typed][composites][loss]",
                           LOOM_TYPED_BACKENDS,
                           LOOM_TYPED_FLOATS) {
  using namespace loom_typed;
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  using mat = loom::tensor<T, extents<dyn, dyn>>;
  std::uint32_t seed = 120;

  SECTION("mse_loss and cross_entropy against soft targets") {
    using mat_in = loom::input<T, extents<dyn, dyn>>;
    auto losses = B::compile(loss_model, mat_in{}, mat_in{}, mat_in{});
    for (const auto& [r, c] : composite_shapes) {
      const loom::shape s = make_shape({r, c});
      mat pred(s), target(s), probs(s);
      loom_test::fill_normal(pred, seed++, 0, 3);
      loom_test::fill_normal(target, seed++, 1, 2);
      loom_test::fill_uniform(probs, seed++, 0, 1);
      for (std::size_t i = 0; i < r; ++i) {
        double total = 0;
        for (std::size_t k = 0; k < c; ++k) total += probs(i, k);
        for (std::size_t k = 0; k < c; ++k) probs(i, k) = T(probs(i, k) / total);
      }
      double mse = 0;
      for (std::size_t i = 0; i < pred.size(); ++i) {
        const double diff = at(pred, i) - at(target, i);
        mse += diff * diff;
      }
      mse /= double(pred.size());
      const reference log_softmax = softmax_reference(pred, false).log_softmax;
      double ce = 0;
      for (std::size_t i = 0; i < pred.size(); ++i) ce -= at(probs, i) * log_softmax.value[i];
      ce /= double(r);

      const auto got = B::run(losses, pred, target, probs);
      const std::string what = " of " + s.to_string();
      // Both sum terms of one sign, so the bound is relative to the result: the sum's (see
      // reduction_cases.hpp) and, for cross_entropy, log_softmax's.
      const double n = double(pred.size()), u = unit_roundoff<T>;
      const double sum_rel = u * std::min(n, 256 + 4 * std::sqrt(n));
      check_scaled<TestType>(std::get<0>(got),
                             reference_of(loom::shape{}, [&](std::size_t) { return mse; }),
                             {sum_rel + 4 * u, 0},
                             "mse_loss" + what);
      check_scaled<TestType>(std::get<1>(got),
                             reference_of(loom::shape{}, [&](std::size_t) { return ce; }),
                             {sum_rel + log_tol<T>().rel, 0},
                             "cross_entropy" + what);
    }
  }

  SECTION("layer_norm over rows of a static length: [?, 48]") {
    auto norm = B::compile(layer_norm_model,
                           loom::input<T, extents<dyn, 48>>{},
                           loom::input<T, extents<48>>{},
                           loom::input<T, extents<48>>{});
    for (std::size_t r : {std::size_t(1), std::size_t(37)}) {
      loom::tensor<T, extents<dyn, 48>> x(make_shape({r, 48}));
      loom::tensor<T, extents<48>> gamma, beta;
      // A mean far from 0 against the spread: the two-pass variance must not cancel.
      loom_test::fill_normal(x, seed++, 100, 2);
      loom_test::fill_normal(gamma, seed++, 1, 0.5);
      loom_test::fill_normal(beta, seed++, 0, 1);
      check_scaled<TestType>(B::run(norm, x, gamma, beta),
                             layer_norm_reference(x, &gamma, &beta),
                             norm_tol<T>(),
                             "layer_norm of " + x.shape().to_string());
    }
  }
}
