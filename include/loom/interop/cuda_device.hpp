#pragma once

#include <cuda_runtime.h>

#include "loom/backends/cuda/check.hpp"
#include "loom/backends/cuda/device_tensor.hpp"
#include "loom/interop/dlpack_abi.hpp"

namespace loom::dlpack_abi {

// Device memory is the current device's: compiled models launch there, so a tensor on
// another device is refused on import rather than read by the wrong device's kernels.
template <>
struct device<cuda::device_memory> {
  static int current() {
    int id = 0;
    cuda::check(cudaGetDevice(&id), "cudaGetDevice");
    return id;
  }
  static DLDevice of(const void* data) {
    if (!data) return {kDLCUDA, current()};
    cudaPointerAttributes a{};
    cuda::check(cudaPointerGetAttributes(&a, data), "cudaPointerGetAttributes");
    return {kDLCUDA, a.device};
  }
  static bool reads(DLDevice d) {
    return (d.device_type == kDLCUDA || d.device_type == kDLCUDAManaged) &&
           d.device_id == current();
  }
  static constexpr const char* expected = "kDLCUDA or kDLCUDAManaged on the current device";
};

}  // namespace loom::dlpack_abi
