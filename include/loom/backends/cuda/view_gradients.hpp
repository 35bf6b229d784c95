#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "loom/backends/cuda/check.hpp"
#include "loom/backends/cuda/device_tensor.hpp"
#include "loom/backends/cuda/launch.hpp"
#include "loom/core/around_axis.hpp"
#include "loom/graph/ops/view.hpp"

// The gradients of slice and reshape on the GPU (autodiff/view_gradients.hpp): found by
// argument-dependent lookup from their nodes' calls, on device views, in stream order.
namespace loom::cuda {

namespace detail {

// out[o, begin + j * step, i] = grad[o, j, i], a grid-stride loop over grad's elements.
template <class T>
__global__ void place_slice_kernel(const T* grad,
                                   T* out,
                                   loom::detail::around_axis from,
                                   loom::detail::around_axis to,
                                   std::size_t begin,
                                   std::size_t step) {
  const std::size_t total = from.outer * from.along * from.inner;
  const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
  for (std::size_t at = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; at < total;
       at += stride) {
    const std::size_t i = at % from.inner, j = at / from.inner % from.along;
    const std::size_t o = at / (from.inner * from.along);
    out[loom::detail::offset_around(to, o, begin + j * step, i)] = grad[at];
  }
}

}  // namespace detail

template <class Slice, class T, class GE, class OE>
void place_slice(device_view<const T, GE> grad, device_view<T, OE> out, cudaStream_t stream) {
  check(cudaMemsetAsync(out.data(), 0, out.size() * sizeof(T), stream), "cudaMemsetAsync");
  const std::size_t n = grad.size();
  if (n == 0) return;
  const loom::detail::around_axis to = loom::detail::split_at(out.shape(), Slice::axis);
  detail::place_slice_kernel<<<grid_for(n, threads_per_block), threads_per_block, 0, stream>>>(
      grad.data(),
      out.data(),
      loom::detail::split_at(grad.shape(), Slice::axis),
      to,
      ops::clamp_slice(to.along, Slice::begin, Slice::end, Slice::step).begin,
      Slice::step);
  check(cudaGetLastError(), "kernel launch of slice's gradient");
}

template <class T, class GE, class OE>
void copy_elements(device_view<const T, GE> grad, device_view<T, OE> out, cudaStream_t stream) {
  check(cudaMemcpyAsync(
            out.data(), grad.data(), grad.size() * sizeof(T), cudaMemcpyDeviceToDevice, stream),
        "cudaMemcpyAsync");
}

}  // namespace loom::cuda
