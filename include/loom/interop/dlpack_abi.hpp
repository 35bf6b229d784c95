#pragma once

// The DLPack structures loom reads and writes, whichever dlpack.h came first: Debian's
// libdlpack-dev (0.6), the copy bundled with libtorch (0.6, same include guard), or a 1.x
// header. 0.6 has no versioned struct, so loom declares one with the 1.0 layout there.

#include <dlpack/dlpack.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "loom/core/dtype.hpp"
#include "loom/tensor/memory_space.hpp"

namespace loom {

#ifdef DLPACK_MAJOR_VERSION
using dlpack_versioned = ::DLManagedTensorVersioned;
#else
// DLManagedTensorVersioned of DLPack 1.0, field for field (the header at hand is older).
struct dlpack_versioned {
  struct version_type {
    std::uint32_t major;
    std::uint32_t minor;
  } version;
  void* manager_ctx;
  void (*deleter)(dlpack_versioned* self);
  std::uint64_t flags;
  DLTensor dl_tensor;
};
#endif

namespace dlpack_abi {

// The version loom writes, and the major version it reads.
inline constexpr std::uint32_t major_version = 1;
inline constexpr std::uint32_t minor_version = 0;
// dlpack_versioned::flags: the consumer must not write the elements.
inline constexpr std::uint64_t read_only_flag = 1;
// DLDataTypeCode kDLBool (DLPack 0.8 on); 0.6's enum stops before it.
inline constexpr std::uint8_t bool_code = 6;

template <dtype T>
constexpr DLDataType dtype_of() {
  if constexpr (std::is_same_v<T, bool>)
    return {bool_code, 8, 1};
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return {kDLInt, 32, 1};
  else if constexpr (std::is_same_v<T, bf16>)
    return {kDLBfloat, 16, 1};
  else
    return {kDLFloat, 8 * sizeof(T), 1};
}

inline std::string dtype_text(DLDataType t) {
  return "code " + std::to_string(t.code) + ", " + std::to_string(t.bits) + " bits, " +
         std::to_string(t.lanes) + " lanes";
}

// The DLPack device of each memory space: `of(data)` is where elements at `data` live, and
// `reads(device)` whether a view in the space may point at memory there. Under nvcc,
// interop/cuda_device.hpp adds the CUDA backend's cuda::device_memory.
template <class Space>
struct device;

template <>
struct device<host_memory> {
  static DLDevice of(const void*) { return {kDLCPU, 0}; }
  // Pinned host memory (kDLCUDAHost) is host memory too.
  static bool reads(DLDevice d) { return d.device_type == kDLCPU || d.device_type == kDLCUDAHost; }
  static constexpr const char* expected = "kDLCPU or kDLCUDAHost";
};

template <class Space>
concept has_device = requires(DLDevice d, const void* p) {
  { device<Space>::of(p) } -> std::same_as<DLDevice>;
  { device<Space>::reads(d) } -> std::same_as<bool>;
};

}  // namespace dlpack_abi
}  // namespace loom
