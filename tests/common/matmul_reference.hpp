#pragma once

// matmul as the tests see it, shared by tests/unit/matmul_test.cpp and
// tests/cuda/models_test.cu: the degenerate shapes every GEMM path must get right, operands
// read as batches of matrices, and the double-precision product both backends are checked
// against. Host code only.

#include <loom/loom.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <vector>

#include "compare.hpp"

namespace loom_test {

// A product of [rows, k] and [k, cols].
struct gemm_dims {
  std::size_t rows, k, cols;
};

// The shapes where a GEMM's blocking has nothing to block: 1x1x1, a row times a matrix, a
// matrix times a column, a long dot product (1xN . Nx1), and an inner extent of 1 (an outer
// product). Both backends run these first, then larger shapes of their own.
inline constexpr std::array<gemm_dims, 5> degenerate_gemms{
    {{1, 1, 1}, {1, 7, 9}, {9, 7, 1}, {1, 300, 1}, {5, 1, 6}}};

// degenerate_gemms, then `more`.
inline std::vector<gemm_dims> degenerate_gemms_and(std::initializer_list<gemm_dims> more) {
  std::vector<gemm_dims> all(degenerate_gemms.begin(), degenerate_gemms.end());
  all.insert(all.end(), more);
  return all;
}

// Element (b, i, j) of a rank-2 or rank-3 operand read as a batch of matrices: a rank-2
// operand, or a batch of 1, serves every batch.
template <class Tensor>
double at(const Tensor& t, std::size_t b, std::size_t i, std::size_t j) {
  const loom::shape& s = t.shape();
  const std::size_t rows = s.dims[s.rank - 2], cols = s.dims[s.rank - 1];
  const std::size_t batch = s.rank == 3 && s.dims[0] != 1 ? b : 0;
  return static_cast<double>(t.data()[(batch * rows + i) * cols + j]);
}

// `t` as a function of (batch, i, j), for product_reference.
template <class Tensor>
auto reader(const Tensor& t) {
  return [&t](std::size_t b, std::size_t i, std::size_t j) {
    return at(t, b, i, j);
  };
}

// The product of a (batch, i, p) and b (batch, p, j) over p < k into `out` (rank 2 or 3),
// with the sum of the magnitudes of the terms as each element's scale: rounding errors of
// a sum scale with its terms, not with the (possibly cancelling) sum.
template <class A, class B>
reference product_reference(const loom::shape& out, std::size_t k, A&& a, B&& b) {
  const std::size_t rows = out.dims[out.rank - 2], cols = out.dims[out.rank - 1];
  reference r{out, std::vector<double>(out.size()), std::vector<double>(out.size())};
  for (std::size_t flat = 0; flat < out.size(); ++flat) {
    const std::size_t j = flat % cols, i = flat / cols % rows, batch = flat / (rows * cols);
    double sum = 0, magnitude = 0;
    for (std::size_t p = 0; p < k; ++p) {
      const double term = a(batch, i, p) * b(batch, p, j);
      sum += term;
      magnitude += std::abs(term);
    }
    r.value[flat] = sum;
    r.scale[flat] = magnitude;
  }
  return r;
}

}  // namespace loom_test
