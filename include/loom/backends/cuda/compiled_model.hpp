#pragma once

#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/backends/common/bind.hpp"
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
class compiled_model : public loom::detail::model_base<G, Inputs...> {
  using base = loom::detail::model_base<G, Inputs...>;
  using base::graph_;

 public:
  using base::node_count;
  using base::output_count;
  using typename base::plan;

  template <std::size_t K>
  using output_tensor = device_tensor<typename node_t<G, G::outputs[K]>::value_type,
                                      typename node_t<G, G::outputs[K]>::extents_type>;

  explicit compiled_model(G g) : base(std::move(g)) {}

  // Enqueues the model on `stream` and returns its result(s) in new device tensors
  // (allocated in stream order on it). Nothing waits for the GPU.
  template <class... Args>
  auto operator()(cudaStream_t stream, const Args&... args) const {
    auto frame = bind(args...);
    auto outs = [&]<std::size_t... K>(std::index_sequence<K...>) {
      return std::tuple<output_tensor<K>...>{
          output_tensor<K>(frame.shapes[G::outputs[K]], stream)...};
    }
    (std::make_index_sequence<output_count>{});
    std::array<void*, output_count> ptr;
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      ((ptr[K] = std::get<K>(outs).data()), ...);
    }
    (std::make_index_sequence<output_count>{});
    const auto held = temps_.hold();
    assign_buffers(graph_, frame, ptr, temps_, stream);
    enqueue(graph_, frame, ptr, stream);
    temps_.release(stream);
    if constexpr (G::returns_tuple)
      return outs;
    else
      return std::move(std::get<0>(outs));
  }

  // Enqueues the model on `stream` into caller-owned device outputs: one device tensor or
  // view, or a std::tuple of them (std::tie) for a model with several results.
  template <class Outs, class... Args>
  void run(cudaStream_t stream, Outs&& outs, const Args&... args) const {
    auto frame = bind(args...);
    const auto ptr = bind_outputs(frame, outs);
    const auto held = temps_.hold();
    assign_buffers(graph_, frame, ptr, temps_, stream);
    enqueue(graph_, frame, ptr, stream);
    temps_.release(stream);
  }

  // Records run(stream, outs, args...) into a CUDA graph, for calls repeated on the same
  // buffers: launch() on the result replays every kernel of the call with one launch.
  // `stream` must be a created stream, not the legacy default one.
  template <class Outs, class... Args>
  captured_graph capture(cudaStream_t stream, Outs&& outs, const Args&... args) const {
    auto frame = bind(args...);
    const auto ptr = bind_outputs(frame, outs);
    workspace own;
    assign_buffers(graph_, frame, ptr, own, stream);
    own.release(stream);  // a first replay on another stream waits for the allocation
    // cuBLAS makes its handle on first use, which must not happen while capturing.
    if constexpr (has_matmul) (void)blas_handle();
    return captured_graph(record(stream, [&](cudaStream_t s) { enqueue(graph_, frame, ptr, s); }),
                          std::move(own));
  }

 private:
  static constexpr bool has_matmul = [] {
    // `!=`, not `<`: a plan may have no steps, where nvcc warns that `s < 0` is pointless.
    for (std::size_t s = 0; s != plan::step_count; ++s)
      if (plan::steps[s].kind == step_kind::matmul) return true;
    return false;
  }();

  template <class... Args>
  static common::call_frame<node_count> bind(const Args&... args) {
    static_assert((device_tensor_like<Args> && ...),
                  "loom: compiled CUDA models take loom::cuda::device_tensor or device_view");
    ensure_device();
    return loom::detail::bind_inputs<G, Inputs...>(args...);
  }

  template <class Outs>
  static std::array<void*, output_count> bind_outputs(const common::call_frame<node_count>& frame,
                                                      Outs&& outs) {
    std::array<void*, output_count> ptr;
    auto bind_each = [&](auto&& out_tuple) {
      using outs_type = std::remove_cvref_t<decltype(out_tuple)>;
      static_assert(std::tuple_size_v<outs_type> == output_count,
                    "loom: run() needs one output per result of the model");
      [&]<std::size_t... K>(std::index_sequence<K...>) {
        static_assert((device_tensor_like<std::tuple_element_t<K, outs_type>> && ...),
                      "loom: compiled CUDA models write into device_tensor or device_view outputs");
        (loom::detail::bind_output<G, K>(
             std::get<K>(out_tuple), frame.shapes[G::outputs[K]], ptr[K]),
         ...);
      }
      (std::make_index_sequence<output_count>{});
    };
    if constexpr (loom::detail::is_tuple_v<std::remove_cvref_t<Outs>>)
      bind_each(outs);
    else
      bind_each(std::forward_as_tuple(outs));
    return ptr;
  }

  mutable workspace temps_;
};

}  // namespace loom::cuda
