#pragma once

#include <cuda_runtime.h>

#include <utility>

#include "loom/backends/cuda/check.hpp"
#include "loom/backends/cuda/workspace.hpp"

namespace loom::cuda {

// A compiled model's launches for one call, recorded once into a CUDA graph and replayed
// with one launch: for a model called again and again on the same buffers, the per-kernel
// launch cost is paid once. It reads and writes the buffers it was captured with, and owns
// the temporaries it needs.
class captured_graph {
 public:
  captured_graph(cudaGraphExec_t exec, workspace temps) : exec_(exec), temps_(std::move(temps)) {}
  captured_graph(captured_graph&& other) noexcept
      : exec_(std::exchange(other.exec_, nullptr)), temps_(std::move(other.temps_)) {}
  captured_graph& operator=(captured_graph&&) = delete;
  captured_graph(const captured_graph&) = delete;
  ~captured_graph() {
    if (exec_) (void)cudaGraphExecDestroy(exec_);
  }

  // One replay of the captured call, in stream order on `stream` (after the last replay,
  // where that was on another stream: they share the temporaries).
  void launch(cudaStream_t stream) const {
    temps_.reserve(0, stream);
    check(cudaGraphLaunch(exec_, stream), "cudaGraphLaunch");
    temps_.release(stream);
  }

 private:
  cudaGraphExec_t exec_ = nullptr;
  mutable workspace temps_;  // launch() orders replays on it
};

// Records what `enqueue(stream)` enqueues on `stream` (which must not be the legacy
// default stream) and instantiates it.
template <class Enqueue>
cudaGraphExec_t record(cudaStream_t stream, Enqueue&& enqueue) {
  check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
  cudaGraph_t graph = nullptr;
  try {
    enqueue(stream);
  } catch (...) {
    (void)cudaStreamEndCapture(stream, &graph);
    if (graph) (void)cudaGraphDestroy(graph);
    throw;
  }
  check(cudaStreamEndCapture(stream, &graph), "cudaStreamEndCapture");
  cudaGraphExec_t exec = nullptr;
  const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
  (void)cudaGraphDestroy(graph);
  check(made, "cudaGraphInstantiate");
  return exec;
}

}  // namespace loom::cuda
