#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "loom/core/errors.hpp"

namespace loom::cuda {

// Every CUDA call loom makes goes through check(): a failure becomes loom::cuda_error naming
// the call, never a silent wrong result. The error is read back with cudaGetLastError so
// that a failed launch does not poison the next, unrelated check.
inline void check(cudaError_t status, const char* call) {
  if (status == cudaSuccess) return;
  (void)cudaGetLastError();
  throw cuda_error(std::string("loom: ") + call + " failed: " + cudaGetErrorName(status) + ": " +
                   cudaGetErrorString(status));
}

inline void check(cublasStatus_t status, const char* call) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw cuda_error(std::string("loom: ") + call + " failed: " + cublasGetStatusName(status) + ": " +
                   cublasGetStatusString(status));
}

// The number of CUDA devices; a machine without a driver or a GPU has none (and no error).
inline int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return count;
}

// Throws a cuda_error that says why nothing can run, where no device is usable.
inline void require_device() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    throw cuda_error(std::string("loom: no usable CUDA device: cudaGetDeviceCount failed: ") +
                     cudaGetErrorName(status) + ": " + cudaGetErrorString(status));
  }
  if (count == 0) throw cuda_error("loom: no usable CUDA device: this machine has none");
}

// require_device(), once per process while it succeeds: every entry point that touches the
// GPU calls this first, so a machine without a driver or a device gets that said plainly.
inline void ensure_device() {
  static const bool usable = (require_device(), true);
  (void)usable;
}

}  // namespace loom::cuda
