#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <limits>

#include "loom/backends/cuda/check.hpp"
#include "loom/backends/cuda/device_tensor.hpp"
#include "loom/backends/cuda/launch.hpp"
#include "loom/core/around_axis.hpp"

// take_along_axis on the GPU (api/gather.hpp): found by argument-dependent lookup from its
// node's call, on device views, in stream order. A kernel cannot throw: an index outside the
// axis reads as NaN in the result and adds nothing to the gradient.
namespace loom::cuda {

namespace detail {

// Calls read(at, from) for the elements `at` of indices this thread owns (a grid-stride
// loop), with `from` the element of the operand it reads, or skips `at` where its index is
// outside the axis (`missing(at)`).
template <class Read, class Missing>
__device__ void for_each_read(const std::int32_t* indices,
                              loom::detail::around_axis from,
                              loom::detail::around_axis to,
                              Read read,
                              Missing missing) {
  const std::size_t total = to.outer * to.along * to.inner;
  const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
  for (std::size_t at = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; at < total;
       at += stride) {
    const std::size_t i = at % to.inner, o = at / (to.inner * to.along);
    const long long k = loom::detail::wrapped_index(indices[at], from.along);
    if (k < 0 || k >= (long long)from.along)
      missing(at);
    else
      read(at, loom::detail::offset_around(from, o, std::size_t(k), i));
  }
}

// *p += x, atomically: the hardware's add for f32 and f64; for a half-precision element a
// compare-and-swap loop on its 16 bits, the sum computed in f32 and rounded, as every op on
// halves is.
template <class T>
__device__ void atomic_add(T* p, T x) {
  if constexpr (half_precision<T>) {
    auto* bits = reinterpret_cast<unsigned short*>(p);
    unsigned short seen = *bits, before = 0;
    do {
      before = seen;
      seen = atomicCAS(bits, before, T(float(T::from_bits(before)) + float(x)).bits);
    } while (seen != before);
  } else {
    atomicAdd(p, x);
  }
}

// The gather, out[at] = in[source], or its gradient's scatter-add, out[source] += in[at].
template <bool Scatter, class T>
__global__ void along_axis_kernel(const T* in,
                                  const std::int32_t* indices,
                                  T* out,
                                  loom::detail::around_axis from,
                                  loom::detail::around_axis to) {
  for_each_read(
      indices,
      from,
      to,
      [&](std::size_t at, std::size_t source) {
        if constexpr (Scatter)
          atomic_add(&out[source], in[at]);
        else
          out[at] = in[source];
      },
      [&](std::size_t at) {
        if constexpr (!Scatter) out[at] = std::numeric_limits<T>::quiet_NaN();
      });
}

// One launch over the indices, read along axis `axis` of a value of shape `operand`.
template <bool Scatter, class T>
void launch_along(const T* in,
                  const std::int32_t* indices,
                  T* out,
                  const shape& operand,
                  const shape& index_shape,
                  std::size_t axis,
                  cudaStream_t stream) {
  const std::size_t n = index_shape.size();
  if (n == 0) return;
  along_axis_kernel<Scatter><<<grid_for(n, threads_per_block), threads_per_block, 0, stream>>>(
      in,
      indices,
      out,
      loom::detail::split_at(operand, axis),
      loom::detail::split_at(index_shape, axis));
  check(
      cudaGetLastError(),
      Scatter ? "kernel launch of take_along_axis's gradient" : "kernel launch of take_along_axis");
}

}  // namespace detail

template <std::size_t Axis, class T, class XE, class IE, class OE>
void gather_along(device_view<const T, XE> x,
                  device_view<const std::int32_t, IE> indices,
                  device_view<T, OE> out,
                  cudaStream_t stream) {
  detail::launch_along<false>(
      x.data(), indices.data(), out.data(), x.shape(), indices.shape(), Axis, stream);
}

template <std::size_t Axis, class T, class IE, class GE, class XE>
void scatter_add_along(device_view<const std::int32_t, IE> indices,
                       device_view<const T, GE> grad,
                       device_view<T, XE> grad_x,
                       cudaStream_t stream) {
  check(cudaMemsetAsync(grad_x.data(), 0, grad_x.size() * sizeof(T), stream), "cudaMemsetAsync");
  detail::launch_along<true>(
      grad.data(), indices.data(), grad_x.data(), grad_x.shape(), indices.shape(), Axis, stream);
}

}  // namespace loom::cuda
