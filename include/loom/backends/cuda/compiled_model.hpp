#pragma once

#include <cstddef>
#include <utility>

#include "loom/backends/common/model_base.hpp"
#include "loom/backends/cuda/captured_graph.hpp"
#include "loom/backends/cuda/device_tensor.hpp"
#include "loom/backends/cuda/execute.hpp"

namespace loom::cuda {

// A traced or scripted graph, planned into the same fused groups as on the CPU and run as
// generated CUDA kernels (and cuBLAS GEMMs) on a caller-given stream. `Inputs` are the
// loom::input declarations it was compiled for. Its temporaries are one workspace, planned
// on the first call and reused: calls on several streams (and from several host threads) take
// it in turn, each waiting on the GPU for the previous call's work.
template <class G, class... Inputs>
class compiled_model : public loom::detail::model_base<G, device_memory, Inputs...> {
  using base = loom::detail::model_base<G, device_memory, Inputs...>;
  using base::graph_;

 public:
  using typename base::plan;

  explicit compiled_model(G g) : base(std::move(g)) {}

  // Enqueues the model on `stream` and returns its result(s) in new device tensors
  // (allocated in stream order on it). Nothing waits for the GPU.
  template <class... Args>
  auto operator()(cudaStream_t stream, const Args&... args) const {
    auto frame = bind(args...);
    return base::into_new_outputs(
        frame, stream, [&](const auto& outputs) { enqueue_in_turn(frame, outputs, stream); });
  }

  // Enqueues the model on `stream` into caller-owned device outputs: one device tensor or
  // view, or a std::tuple of them (std::tie) for a model with several results.
  template <class Outs, class... Args>
  void run(cudaStream_t stream, Outs&& outs, const Args&... args) const {
    auto frame = bind(args...);
    enqueue_in_turn(frame, base::bind_outputs(frame, outs), stream);
  }

  // Records run(stream, outs, args...) into a CUDA graph, for calls repeated on the same
  // buffers: launch() on the result replays every kernel of the call with one launch.
  // `stream` must be a created stream, not the legacy default one.
  template <class Outs, class... Args>
  captured_graph capture(cudaStream_t stream, Outs&& outs, const Args&... args) const {
    auto frame = bind(args...);
    const auto ptr = base::bind_outputs(frame, outs);
    workspace own;
    assign_buffers(graph_, frame, ptr, own, stream);
    own.release(stream);  // a first replay on another stream waits for the allocation
    // cuBLAS makes its handle on first use, which must not happen while capturing.
    if constexpr (has_matmul) (void)blas_handle();
    return captured_graph(record(stream, [&](cudaStream_t s) { enqueue(graph_, frame, ptr, s); }),
                          std::move(own));
  }

 private:
  using typename base::frame_type;
  using typename base::output_buffers;

  static constexpr bool has_matmul = [] {
    // `!=`, not `<`: a plan may have no steps, where nvcc warns that `s < 0` is pointless.
    for (std::size_t s = 0; s != plan::step_count; ++s)
      if (plan::steps[s].kind == step_kind::matmul) return true;
    return false;
  }();

  template <class... Args>
  static frame_type bind(const Args&... args) {
    ensure_device();
    return base::bind(args...);
  }

  // The call's temporaries come from the model's workspace, which calls take in turn.
  void enqueue_in_turn(frame_type& frame,
                       const output_buffers& outputs,
                       cudaStream_t stream) const {
    const auto held = temps_.hold();
    assign_buffers(graph_, frame, outputs, temps_, stream);
    enqueue(graph_, frame, outputs, stream);
    temps_.release(stream);
  }

  mutable workspace temps_;
};

}  // namespace loom::cuda
