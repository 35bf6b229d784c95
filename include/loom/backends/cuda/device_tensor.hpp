#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <type_traits>
#include <utility>

#include "loom/backends/cuda/check.hpp"
#include "loom/tensor/tensor.hpp"

namespace loom::cuda {

// A CUDA device's global memory, allocated and freed in stream order on the stream a tensor
// was made for (cudaMallocAsync / cudaFreeAsync), so a loop that drops last iteration's
// result reuses its memory without synchronising. The host cannot touch it: only device code,
// or a copy with to_host().
struct device_memory {
  static constexpr bool host_accessible = false;
  using context = cudaStream_t;

  static void* allocate(std::size_t bytes, cudaStream_t stream) {
    if (bytes == 0) return nullptr;
    ensure_device();
    void* p = nullptr;
    check(cudaMallocAsync(&p, bytes, stream), "cudaMallocAsync");
    return p;
  }
  static void release(void* p, std::size_t, cudaStream_t stream) noexcept {
    (void)cudaFreeAsync(p, stream);
  }
};

// What compiled CUDA models read and write, and what a whole-tensor F receives on the GPU:
// loom's tensor and view in device memory.
template <class T, extents_type E = extents<dyn>>
using device_view = tensor_view<T, E, device_memory>;
template <dtype T, extents_type E = extents<dyn>>
using device_tensor = tensor<T, E, device_memory>;

// What compiled CUDA models take and fill: device tensors and views.
template <class T>
concept device_tensor_like = tensor_in<T, device_memory>;

namespace detail {
template <class Dst, class Src>
void copy_elements(Dst* to, const Src* from, std::size_t n, cudaMemcpyKind kind, cudaStream_t s) {
  static_assert(std::is_same_v<std::remove_const_t<Src>, Dst>,
                "loom: a copy between host and device keeps the element type");
  if (n != 0) check(cudaMemcpyAsync(to, from, n * sizeof(Dst), kind, s), "cudaMemcpyAsync");
}

template <class A, class B>
void check_same_shape(const A& a, const B& b, const char* what) {
  if (!(a.shape() == b.shape()))
    throw shape_error(std::string("loom: ") + what + " from shape " + a.shape().to_string() +
                      " into shape " + b.shape().to_string());
}
}  // namespace detail

// A host tensor's elements in a new device tensor, copied on `stream`.
template <class Host>
requires tensor_like<Host>
auto to_device(const Host& host, cudaStream_t stream = nullptr) {
  using H = std::remove_cvref_t<Host>;
  device_tensor<typename H::value_type, typename H::extents_type> d(host.shape(), stream);
  detail::copy_elements(d.data(), host.data(), d.size(), cudaMemcpyHostToDevice, stream);
  return d;
}

// A device tensor's elements in a new host tensor. Waits for `stream`, so the result is
// ready when this returns.
template <class Device>
requires device_tensor_like<Device>
auto to_host(const Device& device, cudaStream_t stream = nullptr) {
  using D = std::remove_cvref_t<Device>;
  tensor<typename D::value_type, typename D::extents_type> h(device.shape());
  detail::copy_elements(h.data(), device.data(), h.size(), cudaMemcpyDeviceToHost, stream);
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  return h;
}

// Copies between existing buffers of equal shape, in stream order: host to device, or
// device to host (then waits, so the host buffer is ready).
template <class T, class E, class U, class F>
void copy(const tensor_view<T, E>& from, const device_view<U, F>& to, cudaStream_t stream) {
  detail::check_same_shape(from, to, "copy to the device");
  detail::copy_elements(to.data(), from.data(), to.size(), cudaMemcpyHostToDevice, stream);
}
template <class T, class E, class U, class F>
void copy(const device_view<T, E>& from, const tensor_view<U, F>& to, cudaStream_t stream) {
  detail::check_same_shape(from, to, "copy to the host");
  detail::copy_elements(to.data(), from.data(), to.size(), cudaMemcpyDeviceToHost, stream);
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
}

}  // namespace loom::cuda
