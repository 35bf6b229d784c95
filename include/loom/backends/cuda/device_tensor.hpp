#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <type_traits>
#include <utility>

#include "loom/backends/cuda/check.hpp"
#include "loom/tensor/tensor.hpp"

namespace loom::cuda {

// A non-owning, row-major view of contiguous elements in device memory: what compiled CUDA
// models read and write, and what a whole-tensor F receives on the GPU. Its elements can
// only be touched by device code or copied with to_host().
template <class T, extents_type E = extents<dyn>>
class device_view {
 public:
  using element_type = T;
  using value_type = std::remove_const_t<T>;
  using extents_type = E;
  static_assert(dtype<value_type>, "loom: tensors hold float, double, int32_t or bool");
  static constexpr std::size_t rank = E::rank;

  device_view() : shape_(detail::static_shape<E>()) {}
  device_view(T* data, const loom::shape& s) : data_(data), shape_(detail::checked_shape<E>(s)) {}
  // A mutable view converts to a read-only one, and a static shape to a dynamic one.
  template <class U, loom::extents_type F>
  requires(std::is_convertible_v<U (*)[], T (*)[]> &&
           !std::is_same_v<device_view<U, F>, device_view>)
      device_view(const device_view<U, F>& other)
      : device_view(other.data(), other.shape()) {}

  T* data() const { return data_; }
  const loom::shape& shape() const { return shape_; }
  std::size_t size() const { return shape_.size(); }
  std::size_t extent(std::size_t i) const { return shape_.dims[i]; }

 private:
  T* data_ = nullptr;
  loom::shape shape_;
};

// An owning tensor in device memory, allocated and freed in stream order on the stream it
// was made for (cudaMallocAsync / cudaFreeAsync), so a loop that drops last iteration's
// result reuses its memory without synchronising. Move-only: copying device memory needs
// a stream, so it is explicit (to_device, to_host, copy).
template <dtype T, extents_type E = extents<dyn>>
class device_tensor {
 public:
  using element_type = T;
  using value_type = T;
  using extents_type = E;
  static constexpr std::size_t rank = E::rank;

  explicit device_tensor(const loom::shape& s, cudaStream_t stream = nullptr)
      : view_(allocate(detail::checked_shape<E>(s).size(), stream), s), stream_(stream) {}
  template <class... I>
  requires(sizeof...(I) > 0 && (std::is_integral_v<I> && ...)) explicit device_tensor(I... dims)
      : device_tensor(detail::make_shape<E>(dims...)) {}

  device_tensor(device_tensor&& other) noexcept
      : view_(std::exchange(other.view_, {})), stream_(other.stream_) {}
  device_tensor& operator=(device_tensor&& other) noexcept {
    std::swap(view_, other.view_);
    std::swap(stream_, other.stream_);
    return *this;
  }
  ~device_tensor() {
    // Nothing can be thrown from here; a failed free only leaks.
    if (view_.data()) (void)cudaFreeAsync(view_.data(), stream_);
  }

  T* data() { return view_.data(); }
  const T* data() const { return view_.data(); }
  const loom::shape& shape() const { return view_.shape(); }
  std::size_t size() const { return view_.size(); }
  std::size_t extent(std::size_t i) const { return view_.extent(i); }
  cudaStream_t stream() const { return stream_; }

  device_view<T, E> view() & { return view_; }
  device_view<const T, E> view() const& { return view_; }
  device_view<const T, E> view() && = delete;
  template <class U, loom::extents_type F>
  requires(std::is_same_v<U, T>&& F::rank == E::rank) operator device_view<U, F>() & {
    return {data(), shape()};
  }
  template <class U, loom::extents_type F>
  requires(std::is_same_v<U, const T>&& F::rank == E::rank) operator device_view<U, F>() const& {
    return {data(), shape()};
  }

 private:
  static T* allocate(std::size_t n, cudaStream_t stream) {
    if (n == 0) return nullptr;
    ensure_device();
    void* p = nullptr;
    check(cudaMallocAsync(&p, n * sizeof(T), stream), "cudaMallocAsync");
    return static_cast<T*>(p);
  }

  device_view<T, E> view_;
  cudaStream_t stream_ = nullptr;
};

template <class T>
inline constexpr bool is_device_tensor_v = false;
template <class T, class E>
inline constexpr bool is_device_tensor_v<device_tensor<T, E>> = true;
template <class T, class E>
inline constexpr bool is_device_tensor_v<device_view<T, E>> = true;

// What compiled CUDA models take and fill: device tensors and views.
template <class T>
concept device_tensor_like = is_device_tensor_v<std::remove_cvref_t<T>>;

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
