#pragma once

#include <atomic>

namespace loom::cuda {

namespace detail {
inline std::atomic<bool>& tf32_setting() {
  static std::atomic<bool> allowed{false};
  return allowed;
}
}  // namespace detail

// Whether f32 matmuls may run on tensor cores in TF32: their operands rounded to 10 bits of
// mantissa (relative error up to 2^-11 each), their products summed in f32, several times
// faster on GPUs since Ampere. Off by default, so that an f32 matmul is as accurate as on the
// CPU; the analog of PyTorch's `torch.backends.cuda.matmul.allow_tf32`. Process-wide, read at
// each GEMM (a captured CUDA graph keeps what it was captured with).
inline void allow_tf32(bool allowed) {
  detail::tf32_setting().store(allowed);
}
inline bool tf32_allowed() {
  return detail::tf32_setting().load();
}

}  // namespace loom::cuda
