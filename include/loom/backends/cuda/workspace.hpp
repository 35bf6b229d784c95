#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <mutex>
#include <utility>

#include "loom/backends/cuda/check.hpp"

namespace loom::cuda {

// The device memory for a compiled model's temporaries: one block, planned from the
// model's buffer sizes and reused by every call, reallocated in stream order only when a
// call needs more (larger run-time shapes). A call on another stream than the last waits
// for the last call's use of the block (an event), so calls on two streams never share it
// at once; calls from several host threads hold() it in turn, from reserve() to release().
class workspace {
 public:
  workspace() = default;
  workspace(const workspace&) = delete;
  workspace& operator=(const workspace&) = delete;
  workspace(workspace&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        bytes_(std::exchange(other.bytes_, 0)),
        stream_(other.stream_),
        done_(std::exchange(other.done_, nullptr)) {}
  ~workspace() {
    // Nothing can be thrown from here. The block may still be in use on a stream that is
    // gone by now: wait for the last use, then free without naming a stream.
    if (done_) (void)cudaEventSynchronize(done_);
    if (data_) (void)cudaFree(data_);
    if (done_) (void)cudaEventDestroy(done_);
  }

  // At least `bytes`, usable in stream order on `stream` from now on.
  void* reserve(std::size_t bytes, cudaStream_t stream) {
    if (done_ && stream != stream_)
      check(cudaStreamWaitEvent(stream, done_, 0), "cudaStreamWaitEvent");
    stream_ = stream;
    if (bytes > bytes_) {
      if (data_) check(cudaFreeAsync(data_, stream), "cudaFreeAsync");
      data_ = nullptr;
      bytes_ = 0;
      check(cudaMallocAsync(&data_, bytes, stream), "cudaMallocAsync");
      bytes_ = bytes;
    }
    return data_;
  }
  // Marks where, on `stream`, the work enqueued since reserve() stops using the block.
  void release(cudaStream_t stream) {
    if (!done_)
      check(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming), "cudaEventCreateWithFlags");
    check(cudaEventRecord(done_, stream), "cudaEventRecord");
  }
  std::size_t bytes() const { return bytes_; }

  // The workspace for one call, from reserve() to release(): enqueueing is quick, and the
  // event then orders the GPU's work of calls on different streams.
  [[nodiscard]] std::unique_lock<std::mutex> hold() { return std::unique_lock(mutex_); }

 private:
  std::mutex mutex_;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t done_ = nullptr;
};

// Hands out pieces of one block in order, 256-byte aligned (as cudaMalloc's own), so every
// buffer can be read in 16-byte packs. With no block it only counts: the first pass over a
// call's buffers sizes the workspace, the second carves it.
class carver {
 public:
  explicit carver(void* block = nullptr) : block_(static_cast<unsigned char*>(block)) {}
  void* take(std::size_t bytes) {
    void* p = block_ ? block_ + used_ : nullptr;
    used_ += (bytes + alignment - 1) / alignment * alignment;
    return p;
  }
  std::size_t used() const { return used_; }

 private:
  static constexpr std::size_t alignment = 256;
  unsigned char* block_;
  std::size_t used_ = 0;
};

}  // namespace loom::cuda
