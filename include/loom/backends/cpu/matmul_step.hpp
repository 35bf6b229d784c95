#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>

#include "loom/backends/cpu/frame.hpp"

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
struct matmul_step {
  using plan = fusion_plan<G>;
  static constexpr std::size_t N = G::node_count;
  static constexpr std::size_t node = plan::steps[Step].node;
  static constexpr std::size_t lhs = node_t<G, node>::args[0];
  static constexpr std::size_t rhs = node_t<G, node>::args[1];
  using T = typename node_t<G, node>::value_type;

  // One operand, as a batch of matrices in memory.
  struct operand {
    const T* data;
    std::ptrdiff_t batch_stride, row_stride, col_stride;
    std::size_t batches;
  };
  operand a, b;
  std::size_t m, k, n;
  T* out;

  static const shape& space(const call_frame<N>& f) { return f.shapes[node]; }

  static operand operand_of(const call_frame<N>& f, std::size_t i) {
    const layout& l = f.layouts[i];
    const std::size_t r = l.dims.rank;
    const bool batched = r == 3 && l.dims.dims[0] != 1;
    return {static_cast<const T*>(f.data[i]) + l.offset,
            batched ? l.stride[0] : 0,
            l.stride[r - 2],
            l.stride[r - 1],
            batched ? l.dims.dims[0] : 1};
  }

  matmul_step(const call_frame<N>& f, std::size_t) : a(operand_of(f, lhs)), b(operand_of(f, rhs)) {
    const shape& s = space(f);
    m = s.dims[s.rank - 2];
    n = s.dims[s.rank - 1];
    k = f.shapes[lhs].dims[f.shapes[lhs].rank - 1];
    out = static_cast<T*>(f.data[node]);
  }

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
