#pragma once

#include <cuda_runtime.h>

#include <utility>

#include "loom/api/cuda_compile.hpp"
#include "loom/backends/cuda/check.hpp"
#include "loom/backends/cuda/device_tensor.hpp"
#include "loom/train/fused_update.hpp"

// loom::sgd and loom::adam over device tensors: their models compiled for the CUDA backend and
// every step enqueued on the optimizer's stream (set_stream), as a compiled model's call is.
namespace loom::train {

template <>
struct optimizer_memory<cuda::device_memory> {
  using context = cudaStream_t;
  template <class... A>
  static auto compile(const A&... a) {
    return cuda::compile(a...);
  }
  template <class T>
  static void zero(T& t, cudaStream_t stream) {
    if (t.size() != 0)
      cuda::check(cudaMemsetAsync(t.data(), 0, t.size() * sizeof(typename T::value_type), stream),
                  "cudaMemsetAsync");
  }
  // From pageable memory, which cudaMemcpyAsync stages before it returns: `value` may go
  // while the copy still waits on the stream.
  template <class T>
  static void set(T& t, typename T::value_type value, cudaStream_t stream) {
    cuda::detail::copy_elements(t.data(), &value, 1, cudaMemcpyHostToDevice, stream);
  }
  // Work enqueued on `to` from now on waits for what `from` holds: the optimizer's state
  // was zeroed, and its earlier steps ran, on `from`.
  static void hand_over(cudaStream_t from, cudaStream_t to) {
    cuda::check(wait_for(from, to), "cudaStreamWaitEvent");
  }
  // At the optimizer's end: its state is freed in the legacy default stream's order, which
  // must come after its steps (an error here has no one to go to).
  static void hand_over_at_end(cudaStream_t from) noexcept { (void)wait_for(from, nullptr); }

 private:
  static cudaError_t wait_for(cudaStream_t from, cudaStream_t to) noexcept {
    if (from == to) return cudaSuccess;
    cudaEvent_t done = nullptr;
    cudaError_t status = cudaEventCreateWithFlags(&done, cudaEventDisableTiming);
    if (status != cudaSuccess) return status;
    status = cudaEventRecord(done, from);
    if (status == cudaSuccess) status = cudaStreamWaitEvent(to, done, 0);
    (void)cudaEventDestroy(done);  // released once the wait is done with it
    return status;
  }

 public:
  template <class Model, class Outs, class... A>
  static void run(const Model& model, const Outs& outs, cudaStream_t stream, const A&... a) {
    model.run(stream, outs, a...);
  }
  template <class Model, class Outs, class... A>
  static auto capture(const Model& model, const Outs& outs, cudaStream_t stream, const A&... a) {
    return model.capture(stream, outs, a...);
  }
};

}  // namespace loom::train
