#pragma once

// softmax and layer norm along the rows of a row-major [rows, cols] matrix, in double, as
// `reference`s (compare.hpp) with the magnitude each element's rounding error scales with.
// Shared by the CPU tests that run these row passes in unusual conditions (from many threads,
// on misaligned or aliased buffers); composites_test.cpp has its own, with the numerical
// edges. Host code only.

#include <loom/loom.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "compare.hpp"
#include "shapes.hpp"

namespace loom_test {

// softmax of each row; each element's scale is its own value.
template <class T>
reference softmax_rows_reference(const T* x, std::size_t rows, std::size_t cols) {
  reference r{make_shape({rows, cols}), std::vector<double>(rows * cols), {}};
  for (std::size_t i = 0; i < rows; ++i) {
    const T* row = x + i * cols;
    double top = -std::numeric_limits<double>::infinity(), sum = 0;
    for (std::size_t c = 0; c < cols; ++c) top = std::max(top, double(row[c]));
    for (std::size_t c = 0; c < cols; ++c) sum += r.value[i * cols + c] = std::exp(row[c] - top);
    for (std::size_t c = 0; c < cols; ++c) r.value[i * cols + c] /= sum;
  }
  return r;
}

// layer_norm(x, gamma, beta, eps) of each row, with the biased variance. Each element's scale
// is |gamma| (|z| + |mean| / sigma + 1) + |beta|: the float mean is a few ulps of |mean| off,
// which the normalisation magnifies by 1 / sigma.
template <class T>
reference layer_norm_rows_reference(
    const T* x, std::size_t rows, std::size_t cols, const T* gamma, const T* beta, double eps) {
  reference r{
      make_shape({rows, cols}), std::vector<double>(rows * cols), std::vector<double>(rows * cols)};
  for (std::size_t i = 0; i < rows; ++i) {
    const T* row = x + i * cols;
    double mean = 0, var = 0;
    for (std::size_t c = 0; c < cols; ++c) mean += row[c];
    mean /= double(cols);
    for (std::size_t c = 0; c < cols; ++c) var += (row[c] - mean) * (row[c] - mean);
    const double sigma = std::sqrt(var / double(cols) + eps);
    for (std::size_t c = 0; c < cols; ++c) {
      const double z = (row[c] - mean) / sigma;
      r.value[i * cols + c] = z * gamma[c] + beta[c];
      r.scale[i * cols + c] =
          std::abs(gamma[c]) * (std::abs(z) + std::abs(mean) / sigma + 1) + std::abs(beta[c]);
    }
  }
  return r;
}

}  // namespace loom_test
