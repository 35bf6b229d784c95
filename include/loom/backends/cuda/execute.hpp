#pragma once

#include <array>
#include <cstddef>
#include <utility>

#include "loom/backends/cuda/launch.hpp"
#include "loom/backends/cuda/workspace.hpp"

namespace loom::cuda {

// Gives every materialised value of a call its buffer: outputs[k] for output k, the rest
// carved from `temps`, grown for this call's shapes (in stream order) if need be.
template <class G>
void assign_buffers(const G& g,
                    common::call_frame<G::node_count>& f,
                    const std::array<void*, G::output_count>& outputs,
                    workspace& temps,
                    cudaStream_t stream) {
  common::check_aliasing<G>(f, outputs);
  carver count;
  common::call_frame<G::node_count> sizing = f;
  common::assign_buffers<G>(g, sizing, outputs, count);
  carver carve(temps.reserve(count.used(), stream));
  common::assign_buffers<G>(g, f, outputs, carve);
}

// Enqueues every group of the plan on `stream`, then the copies of a value returned twice
// (it is computed once, into the first output that returns it). Allocates nothing, so it
// can be captured into a CUDA graph.
template <class G>
void enqueue(const G& g,
             const common::call_frame<G::node_count>& f,
             const std::array<void*, G::output_count>& outputs,
             cudaStream_t stream) {
  [&]<std::size_t... Group>(std::index_sequence<Group...>) {
    (group_launcher<G, Group>::run(g, f, stream), ...);
  }
  (std::make_index_sequence<fusion_plan<G>::group_count>{});
  for (std::size_t k = 0; k < G::output_count; ++k) {
    const std::size_t o = G::outputs[k];
    const std::size_t bytes = f.shapes[o].size() * fusion_plan<G>::nodes[o].element_size;
    if (outputs[k] != f.data[o] && bytes != 0)
      check(cudaMemcpyAsync(outputs[k], f.data[o], bytes, cudaMemcpyDeviceToDevice, stream),
            "cudaMemcpyAsync");
  }
}

}  // namespace loom::cuda
