#pragma once

#include <cublas_v2.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>
#include <map>
#include <string>

#include "loom/backends/common/steps.hpp"
#include "loom/backends/cuda/check.hpp"
#include "loom/backends/cuda/tf32.hpp"
#include "loom/core/dtype.hpp"

namespace loom::cuda {

// This thread's cuBLAS handle for the current device, made on first use: making one costs
// milliseconds, a handle belongs to the device it was made on, and it must not be shared by
// threads that set different streams on it.
inline cublasHandle_t blas_handle() {
  struct owner {
    cublasHandle_t handle = nullptr;
    owner() { check(cublasCreate(&handle), "cublasCreate"); }
    owner(const owner&) = delete;
    ~owner() { (void)cublasDestroy(handle); }
  };
  thread_local std::map<int, owner> handles;
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  return handles.try_emplace(device).first->second.handle;
}

// How cuBLAS stores T and the precision it accumulates T's products in: f32 for the
// half-precision dtypes (tensor-core GEMMs with f32 accumulation, the result rounded once,
// as the CPU's GEMM does), T's own for f32 (TF32 products where allow_tf32) and f64.
template <class T>
struct blas_types;
template <>
struct blas_types<float> {
  static constexpr cudaDataType storage = CUDA_R_32F;
  static cublasComputeType_t compute() {
    return tf32_allowed() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  }
};
template <>
struct blas_types<double> {
  static constexpr cudaDataType storage = CUDA_R_64F;
  static cublasComputeType_t compute() { return CUBLAS_COMPUTE_64F; }
};
template <>
struct blas_types<bf16> {
  static constexpr cudaDataType storage = CUDA_R_16BF;
  static cublasComputeType_t compute() { return CUBLAS_COMPUTE_32F; }
};
template <>
struct blas_types<f16> {
  static constexpr cudaDataType storage = CUDA_R_16F;
  static cublasComputeType_t compute() { return CUBLAS_COMPUTE_32F; }
};

// A matmul step as one cuBLAS strided-batched GEMM on `stream`. cuBLAS is column-major, so
// the row-major C = A B is computed as C^T = B^T A^T: a row-major operand is its own
// transpose in column-major terms, and a transposed view (read in place, as on the CPU) is
// passed with op T. A broadcast batch operand has batch stride 0.
template <class G, std::size_t Step>
void gemm(const common::call_frame<G::node_count>& f, cudaStream_t stream) {
  using step_type = common::matmul_space<G, Step>;
  using T = typename step_type::T;
  using plan = fusion_plan<G>;
  using scale = compute_t<T>;  // alpha and beta: of the compute type (f32 for halves)
  const step_type step(common::step_args<G::node_count>{f, 0});
  const shape& space = step_type::space(f);
  const std::size_t batches = space.rank == 3 ? space.dims[0] : 1;
  if (step.m == 0 || step.n == 0 || batches == 0) return;
  // cuBLAS takes its sizes as int.
  const std::array<std::size_t, 4> extents{step.m, step.n, step.k, batches};
  for (std::size_t extent : extents)
    if (extent > std::size_t(std::numeric_limits<int>::max()))
      throw cuda_error("loom: matmul of " + space.to_string() +
                       " has an extent beyond cuBLAS's int sizes");
  if (step.k == 0) {
    check(cudaMemsetAsync(step.out, 0, batches * step.m * step.n * sizeof(T), stream),
          "cudaMemsetAsync");
    return;
  }
  // Column-major leading dimension of an operand; a matrix with one column's stride is
  // never used, and cuBLAS only asks that it is at least the row count.
  struct operand {
    cublasOperation_t op;
    int ld;
    long long batch_stride;
  };
  auto describe = [](const typename step_type::operand& o,
                     bool transposed,
                     std::size_t rows,
                     std::size_t cols) {
    // rows x cols as stored column-major: the operand's columns (plain) or rows (transposed).
    const std::ptrdiff_t ld = transposed ? o.col_stride : o.row_stride;
    const std::size_t stored_rows = transposed ? rows : cols;
    return operand{transposed ? CUBLAS_OP_T : CUBLAS_OP_N,
                   int(std::max<std::ptrdiff_t>({ld, std::ptrdiff_t(stored_rows), 1})),
                   o.batches > 1 ? (long long)o.batch_stride : 0};
  };
  constexpr std::size_t lhs = step_type::lhs, rhs = step_type::rhs;
  const operand a = describe(step.a, !plan::plain(lhs), step.m, step.k);
  const operand b = describe(step.b, !plan::plain(rhs), step.k, step.n);
  const scale one = 1, zero = 0;
  cublasHandle_t h = blas_handle();
  check(cublasSetStream(h, stream), "cublasSetStream");
  const long long out_stride = (long long)(step.m * step.n);
  constexpr cudaDataType type = blas_types<T>::storage;
  check(cublasGemmStridedBatchedEx(h,
                                   b.op,
                                   a.op,
                                   int(step.n),
                                   int(step.m),
                                   int(step.k),
                                   &one,
                                   step.b.data,
                                   type,
                                   b.ld,
                                   b.batch_stride,
                                   step.a.data,
                                   type,
                                   a.ld,
                                   a.batch_stride,
                                   &zero,
                                   step.out,
                                   type,
                                   int(step.n),
                                   out_stride,
                                   int(batches),
                                   blas_types<T>::compute(),
                                   CUBLAS_GEMM_DEFAULT),
        "cublasGemmStridedBatchedEx");
}

}  // namespace loom::cuda
