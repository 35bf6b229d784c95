#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>

#include "loom/backends/common/steps.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace loom::cpu {

// Eigen splits a GEMM over omp_get_max_threads() threads by itself; loom splits rows over
// its own threads instead, so every GEMM here runs on the thread that calls it.
class gemm_on_this_thread {
 public:
#ifdef _OPENMP
  gemm_on_this_thread() : saved_(omp_get_max_threads()) {
    omp_set_num_threads(1);
  }
  ~gemm_on_this_thread() {
    omp_set_num_threads(saved_);
  }

 private:
  int saved_;
#endif
};

// A matmul step: rows of the product through Eigen's GEMM, a block of rows at a time, so
// that the group's epilogue reads each block while it is still in cache. An operand is a
// contiguous matrix (batch) or, read in place, the transpose of one.
template <class G, std::size_t Step>
struct matmul_step : common::matmul_space<G, Step> {
  using base = common::matmul_space<G, Step>;
  using base::a;
  using base::b;
  using base::base;
  using base::k;
  using base::lhs;
  using base::m;
  using base::n;
  using base::out;
  using base::rhs;
  using typename base::plan;
  using typename base::T;

  // Rows [first_row, last_row) of the product, counted over all batches.
  void rows(const G&, std::size_t first_row, std::size_t last_row, std::size_t) const {
    [[maybe_unused]] gemm_on_this_thread single;  // empty without OpenMP
    for (std::size_t r = first_row; r < last_row;) {
      const std::size_t batch = r / m, row = r % m;
      const std::size_t count = std::min(m - row, last_row - r);
      multiply(batch, row, count);
      r += count;
    }
  }

 private:
  template <int Order>
  using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Order>;
  using stride = Eigen::OuterStride<>;
  template <int Order>
  using const_map = Eigen::Map<const matrix<Order>, Eigen::Unaligned, stride>;

  // Plain operands are row-major; the transpose of one is the same buffer read column-major.
  static constexpr bool lhs_transposed = !plan::plain(lhs);
  static constexpr bool rhs_transposed = !plan::plain(rhs);
  static constexpr int lhs_order = lhs_transposed ? Eigen::ColMajor : Eigen::RowMajor;
  static constexpr int rhs_order = rhs_transposed ? Eigen::ColMajor : Eigen::RowMajor;

  void multiply(std::size_t batch, std::size_t row, std::size_t count) const {
    const T* pa = a.data + std::ptrdiff_t(a.batches > 1 ? batch : 0) * a.batch_stride +
                  std::ptrdiff_t(row) * a.row_stride;
    const T* pb = b.data + std::ptrdiff_t(b.batches > 1 ? batch : 0) * b.batch_stride;
    const auto sa = lhs_transposed ? a.col_stride : a.row_stride;
    const auto sb = rhs_transposed ? b.col_stride : b.row_stride;
    const auto rows = Eigen::Index(count), inner = Eigen::Index(k), cols = Eigen::Index(n);
    const_map<lhs_order> A(pa, rows, inner, stride(sa));
    const_map<rhs_order> B(pb, inner, cols, stride(sb));
    Eigen::Map<matrix<Eigen::RowMajor>> C(out + (batch * m + row) * n, rows, cols);
    if (inner == 0)
      C.setZero();
    else
      C.noalias() = A * B;
  }
};

}  // namespace loom::cpu
