#pragma once

#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/backends/common/bind.hpp"
#include "loom/graph/impure.hpp"
#include "loom/graph/plan.hpp"
#include "loom/tensor/tensor.hpp"

namespace loom::detail {

// What a compiled model is on every backend: the graph, with the copies of each impure call
// linked, and its plan and counts, all fixed at compile time; and what a call does before
// and after the backend runs the plan, the same everywhere: binding the inputs, making or
// binding the outputs in the backend's memory space `Space`, and returning the results. A
// backend's model derives from it and adds only how it runs the plan (CPU: loop nests over
// threads; CUDA: kernels on a stream) and what a call takes besides tensors.
template <class G, memory_space Space, class... Inputs>
class model_base {
 public:
  // The graph as traced (the same type for a model traced, scripted or compiled from
  // example tensors); the model runs it under a name of its own (loom::compile).
  using graph_type = traced_graph_t<G>;
  using plan = fusion_plan<G>;
  using memory_space = Space;
  static constexpr std::size_t node_count = G::node_count;
  static constexpr std::size_t input_count = sizeof...(Inputs);
  // The loom::input declarations it was compiled for, in order (exporters list them all,
  // used or not).
  using input_types = std::tuple<Inputs...>;
  static constexpr std::size_t output_count = G::output_count;
  // Passes over memory (CPU loop nests, GPU kernels) one call makes; fixed at compile time.
  static constexpr std::size_t kernel_count = plan::kernel_count;

  template <std::size_t K>
  using output_tensor = tensor<typename node_t<G, G::outputs[K]>::value_type,
                               typename node_t<G, G::outputs[K]>::extents_type,
                               Space>;

  explicit model_base(G g) : graph_(std::move(g)) { link_reused_impure_nodes(graph_); }

  const graph_type& graph() const { return graph_; }

 protected:
  using frame_type = common::call_frame<node_count>;
  using output_buffers = std::array<void*, output_count>;

  // The frame of a call: the inputs' shapes and buffers, and every node's shape.
  template <class... Args>
  static frame_type bind(const Args&... args) {
    static_assert((tensor_in<Args, Space> && ...),
                  "loom: a compiled model takes tensors or views in its backend's memory: "
                  "loom::tensor or tensor_view on the CPU, loom::cuda::device_tensor or "
                  "device_view on CUDA");
    return bind_inputs<G, Inputs...>(args...);
  }

  // New tensors for the results, allocated in `context` (a stream on a GPU): run(buffers)
  // fills them, and they are returned as the model's result, a tensor or a std::tuple.
  template <class Run>
  static auto into_new_outputs(const frame_type& frame,
                               typename Space::context context,
                               Run&& run) {
    auto outs = [&]<std::size_t... K>(std::index_sequence<K...>) {
      return std::tuple<output_tensor<K>...>{
          output_tensor<K>(frame.shapes[G::outputs[K]], context)...};
    }
    (std::make_index_sequence<output_count>{});
    output_buffers ptr;
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      ((ptr[K] = std::get<K>(outs).data()), ...);
    }
    (std::make_index_sequence<output_count>{});
    run(ptr);
    if constexpr (G::returns_tuple)
      return outs;
    else
      return std::move(std::get<0>(outs));
  }

  // The buffers of caller-owned outputs: one tensor or view, or a std::tuple of them
  // (std::tie) for a model with several results; their shapes are checked here.
  template <class Outs>
  static output_buffers bind_outputs(const frame_type& frame, Outs&& outs) {
    output_buffers ptr;
    auto bind_each = [&](auto&& out_tuple) {
      using outs_type = std::remove_cvref_t<decltype(out_tuple)>;
      static_assert(std::tuple_size_v<outs_type> == output_count,
                    "loom: run() needs one output per result of the model");
      [&]<std::size_t... K>(std::index_sequence<K...>) {
        static_assert((tensor_in<std::tuple_element_t<K, outs_type>, Space> && ...),
                      "loom: a compiled model writes into tensors or views in its backend's "
                      "memory: loom::tensor or tensor_view on the CPU, "
                      "loom::cuda::device_tensor or device_view on CUDA");
        (bind_output<G, K>(std::get<K>(out_tuple), frame.shapes[G::outputs[K]], ptr[K]), ...);
      }
      (std::make_index_sequence<output_count>{});
    };
    if constexpr (is_tuple_v<std::remove_cvref_t<Outs>>)
      bind_each(outs);
    else
      bind_each(std::forward_as_tuple(outs));
    return ptr;
  }

  G graph_;
};

}  // namespace loom::detail
