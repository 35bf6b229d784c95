#pragma once

#include <concepts>
#include <cstddef>

#include "loom/tensor/pool.hpp"

namespace loom {

// Where a tensor's elements live: a memory space says whether the host may touch them, and
// how an owning tensor gets and gives back its memory. `context` is what an allocation is
// made for (nothing on the host, a stream on a GPU); a tensor keeps it to free its memory.
// The CUDA backend adds cuda::device_memory (backends/cuda/device_tensor.hpp).
struct host_memory {
  static constexpr bool host_accessible = true;
  struct context {};

  static void* allocate(std::size_t bytes, context) {
    return buffer_pool::instance().allocate(bytes);
  }
  static void release(void* p, std::size_t bytes, context) noexcept {
    buffer_pool::instance().release(p, bytes);
  }
};

template <class S>
concept memory_space = requires(std::size_t bytes, typename S::context c) {
  { S::host_accessible } -> std::convertible_to<bool>;
  { S::allocate(bytes, c) } -> std::same_as<void*>;
  S::release(static_cast<void*>(nullptr), bytes, c);
};

}  // namespace loom
