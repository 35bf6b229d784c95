#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>
#include <vector>

#include "loom/backends/common/steps.hpp"
#include "loom/core/dtype.hpp"

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

// c = a * b for `rows` rows of a at pa (rows x k) and the matrix b at pb (k x n), through
// Eigen's GEMM, into the row-major c. Plain operands are row-major, their rows
// `lhs_stride`/`rhs_stride` apart; one read in place as the transpose of a plain one
// (`LhsTransposed`, `RhsTransposed`) is the same buffer read column-major, the stride then
// being its columns'.
template <bool LhsTransposed, bool RhsTransposed, class T>
void gemm(const T* pa,
          std::ptrdiff_t lhs_stride,
          const T* pb,
          std::ptrdiff_t rhs_stride,
          std::size_t rows,
          std::size_t k,
          std::size_t n,
          T* c) {
  using stride = Eigen::OuterStride<>;
  constexpr int lhs_order = LhsTransposed ? Eigen::ColMajor : Eigen::RowMajor;
  constexpr int rhs_order = RhsTransposed ? Eigen::ColMajor : Eigen::RowMajor;
  using lhs_map =
      Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, lhs_order>, 0, stride>;
  using rhs_map =
      Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, rhs_order>, 0, stride>;
  using out_map = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
  const auto r = Eigen::Index(rows), inner = Eigen::Index(k), cols = Eigen::Index(n);
  const lhs_map A(pa, r, inner, stride(lhs_stride));
  const rhs_map B(pb, inner, cols, stride(rhs_stride));
  out_map C(c, r, cols);
  if (inner == 0)
    C.setZero();
  else
    C.noalias() = A * B;
}

// gemm for half-precision operands, as half-precision GEMMs compute: a's rows and b widened
// to f32 (element (i, j) of each at p[i * row_stride + j * col_stride]), Eigen's f32 GEMM,
// and the product rounded once into c. (The widening costs a pass over b per block of rows.)
template <half_precision T>
void gemm_widened(const T* pa,
                  const common::matrix_operand<T>& a,
                  const T* pb,
                  const common::matrix_operand<T>& b,
                  std::size_t rows,
                  std::size_t k,
                  std::size_t n,
                  T* c) {
  const auto widen = [](const T* p, std::size_t r, std::size_t cols, const auto& layout) {
    std::vector<float> w(r * cols);
    for (std::size_t i = 0; i < r; ++i)
      for (std::size_t j = 0; j < cols; ++j)
        w[i * cols + j] =
            float(p[std::ptrdiff_t(i) * layout.row_stride + std::ptrdiff_t(j) * layout.col_stride]);
    return w;
  };
  const std::vector<float> wa = widen(pa, rows, k, a), wb = widen(pb, k, n, b);
  std::vector<float> product(rows * n);
  gemm<false, false>(
      wa.data(), std::ptrdiff_t(k), wb.data(), std::ptrdiff_t(n), rows, k, n, product.data());
  std::copy(product.begin(), product.end(), c);
}

// Rows [first_row, last_row) of the product a * b (m x k times k x n, counted over all
// batches) into the row-major `out`, a batch's piece at a time, on this thread.
template <bool LhsTransposed, bool RhsTransposed, class T>
void gemm_rows(const common::matrix_operand<T>& a,
               const common::matrix_operand<T>& b,
               std::size_t m,
               std::size_t k,
               std::size_t n,
               T* out,
               std::size_t first_row,
               std::size_t last_row) {
  [[maybe_unused]] gemm_on_this_thread single;  // empty without OpenMP
  for (std::size_t r = first_row; r < last_row;) {
    const std::size_t batch = r / m, row = r % m;
    const std::size_t count = std::min(m - row, last_row - r);
    const T* pa = a.data + std::ptrdiff_t(a.batches > 1 ? batch : 0) * a.batch_stride +
                  std::ptrdiff_t(row) * a.row_stride;
    const T* pb = b.data + std::ptrdiff_t(b.batches > 1 ? batch : 0) * b.batch_stride;
    T* c = out + (batch * m + row) * n;
    if constexpr (half_precision<T>)
      gemm_widened(pa, a, pb, b, count, k, n, c);
    else
      gemm<LhsTransposed, RhsTransposed>(pa,
                                         LhsTransposed ? a.col_stride : a.row_stride,
                                         pb,
                                         RhsTransposed ? b.col_stride : b.row_stride,
                                         count,
                                         k,
                                         n,
                                         c);
    r += count;
  }
}

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

  // Rows [first_row, last_row) of the product, counted over all batches.
  void rows(const G&, std::size_t first_row, std::size_t last_row, std::size_t) const {
    gemm_rows<!plan::plain(lhs), !plan::plain(rhs)>(a, b, m, k, n, out, first_row, last_row);
  }
};

}  // namespace loom::cpu
