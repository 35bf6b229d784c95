#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <new>

#include "loom/core/config.hpp"

namespace loom {

// Buffers for tensors, 64-byte aligned (a cache line, an AVX-512 register).
//
// Freed buffers are kept and handed out again for the same size: an eager program allocates
// the same temporaries on every call, and memory fresh from the OS costs a page fault per
// 4 KiB, which made writes into new buffers five times slower than the arithmetic on them.
class buffer_pool {
 public:
  static constexpr std::size_t alignment = 64;
  // What the pool keeps at most; buffers freed beyond it go back to the OS.
  static constexpr std::size_t max_cached_bytes = std::size_t(1) << 30;

  static buffer_pool& instance() {
    static buffer_pool pool;
    return pool;
  }

  LOOM_OUT_OF_LINE void* allocate(std::size_t bytes) {
    bytes = round_up(bytes);
    {
      std::lock_guard lock(mutex_);
      if (auto it = free_.find(bytes); it != free_.end()) {
        void* p = it->second;
        free_.erase(it);
        cached_bytes_ -= bytes;
        return p;
      }
    }
    return ::operator new(bytes, std::align_val_t(alignment));
  }

  LOOM_OUT_OF_LINE void release(void* p, std::size_t bytes) noexcept {
    bytes = round_up(bytes);
    {
      std::lock_guard lock(mutex_);
      if (cached_bytes_ + bytes <= max_cached_bytes) {
        free_.emplace(bytes, p);
        cached_bytes_ += bytes;
        return;
      }
    }
    ::operator delete(p, std::align_val_t(alignment));
  }

  // Returns every cached buffer to the OS.
  void trim() noexcept {
    std::lock_guard lock(mutex_);
    for (auto& [bytes, p] : free_) ::operator delete(p, std::align_val_t(alignment));
    free_.clear();
    cached_bytes_ = 0;
  }

  std::size_t cached_bytes() const {
    std::lock_guard lock(mutex_);
    return cached_bytes_;
  }

  ~buffer_pool() { trim(); }

 private:
  static std::size_t round_up(std::size_t bytes) {
    return bytes == 0 ? alignment : (bytes + alignment - 1) / alignment * alignment;
  }

  mutable std::mutex mutex_;
  std::multimap<std::size_t, void*> free_;
  std::size_t cached_bytes_ = 0;
};

}  // namespace loom
