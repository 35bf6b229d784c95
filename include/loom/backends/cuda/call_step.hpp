#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include "loom/backends/common/frame.hpp"
#include "loom/backends/cuda/device_tensor.hpp"

namespace loom {

// Named checks, so that a failed static_assert names F (or the callback) and the view types.
template <class F, class Out, class... In>
inline constexpr bool callable_on_device_views =
    std::is_invocable_v<const F&, In..., Out, cudaStream_t>;

namespace cuda {

// A call step on the GPU, between kernels, in stream order. A whole-tensor F is called as
// f(inputs..., output, stream) on device views and must only enqueue work on that stream
// (or wait for it). A hook's callback, which takes a host tensor_view for the CPU backend,
// gets a host copy (the stream is waited for); one that also takes (device_view,
// cudaStream_t) gets the device buffer and the stream instead, and no copy is made.
template <class G, std::size_t Step>
struct call_step {
  using plan = fusion_plan<G>;
  static constexpr std::size_t N = G::node_count;
  static constexpr std::size_t node = plan::steps[Step].node;
  using node_type = node_t<G, node>;
  using op = typename node_type::op_type;
  using T = typename node_type::value_type;

  template <std::size_t I>
  using input_view =
      device_view<const typename node_t<G, I>::value_type, typename node_t<G, I>::extents_type>;
  using output_view = device_view<T, typename node_type::extents_type>;

  template <std::size_t I>
  static input_view<I> view_of(const common::call_frame<N>& f) {
    return {static_cast<const typename node_t<G, I>::value_type*>(f.data[I]), f.shapes[I]};
  }

  static void run(const G& g, const common::call_frame<N>& f, cudaStream_t stream) {
    const auto& n = node_at<node>(g.nodes);
    constexpr node_kind kind = kind_of<node_type>();
    if constexpr (kind == node_kind::opaque_call) {
      // Another copy of this call ran already (see link_reused_impure_nodes).
      if (n.op.alias != n.op.no_alias) return copy_from(f, n.op.alias, stream);
      [&]<std::size_t... A>(std::index_sequence<A...>) {
        using F = typename op::callable_type;
        constexpr bool callable =
            callable_on_device_views<F, output_view, input_view<node_type::args[A]>...>;
        static_assert(callable,
                      "loom: in a CUDA model a whole-tensor F is called as f(inputs..., output, "
                      "stream) with loom::cuda::device_view arguments and the cudaStream_t; the "
                      "note names F and the views");
        if constexpr (callable)
          n.op.f(view_of<node_type::args[A]>(f)...,
                 output_view(static_cast<T*>(f.data[node]), f.shapes[node]),
                 stream);
      }
      (std::make_index_sequence<node_type::arity>{});
    } else {
      constexpr std::size_t arg = node_type::args[0];
      if constexpr (kind == node_kind::hook) {
        using C = typename op::callable_type;
        using host_view = tensor_view<const T, typename node_t<G, arg>::extents_type>;
        if (n.op.alias == n.op.no_alias) {
          if constexpr (std::is_invocable_v<C&, input_view<arg>, cudaStream_t>) {
            n.op.callback(view_of<arg>(f), stream);
          } else {
            cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
            check(cudaStreamIsCapturing(stream, &capturing), "cudaStreamIsCapturing");
            if (capturing != cudaStreamCaptureStatusNone)
              throw cuda_error(
                  "loom: a hook whose callback takes a host view cannot be captured into a CUDA "
                  "graph (it copies to the host and waits); give it a (device_view, "
                  "cudaStream_t) overload");
            const auto host = to_host(view_of<arg>(f), stream);
            n.op.callback(host_view(host.data(), host.shape()));
          }
        }
      }
      if (f.data[node] != f.data[arg]) copy_from(f, arg, stream);
    }
  }

  static void copy_from(const common::call_frame<N>& f, std::size_t from, cudaStream_t stream) {
    if (f.data[from] != f.data[node] && f.shapes[node].size() != 0)
      check(cudaMemcpyAsync(f.data[node],
                            f.data[from],
                            f.shapes[node].size() * sizeof(T),
                            cudaMemcpyDeviceToDevice,
                            stream),
            "cudaMemcpyAsync");
  }
};

}  // namespace cuda
}  // namespace loom
