#pragma once

// The callables generated models put into graphs: element-wise and whole-tensor
// allow_in_graph<F> types, pure and impure, and a hook callback. They live at namespace scope
// with __host__ __device__ call operators, as the CUDA backend needs. Their formulas are
// mirrored by the reference (fz::ref::fn::softsign, ...): change both together.

#include <loom/loom.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#ifdef __CUDACC__
#include <loom/cuda.hpp>
#define FZ_HD __host__ __device__
#else
#define FZ_HD
#endif

namespace fz {

// What the impure callables and hooks of one model record while it runs.
struct hook_record {
  long calls = 0;
  loom::shape shape;
  std::vector<double> values;
};

struct context {
  std::array<std::atomic<long>, 8> calls{};
  std::array<hook_record, 8> hooks;
  void reset() {
    for (auto& c : calls) c = 0;
    for (auto& h : hooks) h = hook_record{};
  }
};

// x / (1 + |x|): pure and stateless, so two calls on one value are merged.
struct softsign {
  template <class T>
  FZ_HD T operator()(T x) const {
    return x / (T(1) + (x < T(0) ? -x : x));
  }
  template <class T>
  FZ_HD static T derivative(T x) {
    const T d = T(1) + (x < T(0) ? -x : x);
    return T(1) / (d * d);
  }
};

// x * scale + shift: pure with state, so never merged with another call. Its slope is its
// state, which a static derivative cannot read: the generator keeps it out of gradient checks.
struct affine {
  float scale, shift;
  template <class T>
  FZ_HD T operator()(T x) const {
    return x * T(scale) + T(shift);
  }
};

// Two inputs, each in its own dtype, computed in double; the result takes the first's dtype.
struct blend {
  template <class A, class B>
  FZ_HD double operator()(A a, B b) const {
    return double(a) * 0.75 + double(b) * 0.25;
  }
  template <std::size_t K, class A, class B>
  FZ_HD static double derivative(A, B) {
    return K == 0 ? 0.75 : 0.25;
  }
};

// Declares an output dtype other than its input's.
struct widen {
  using output_type = double;
  template <class T>
  FZ_HD double operator()(T x) const {
    return double(x) * 1.5 + 0.25;
  }
  template <class T>
  FZ_HD static double derivative(T) {
    return 1.5;
  }
};

// Integers only: x * 7 + 3, wrapping as i32 arithmetic does.
struct int_mix {
  FZ_HD std::int32_t operator()(std::int32_t x) const {
    return std::int32_t(std::uint32_t(x) * 7u + 3u);
  }
};

// Impure: counts its calls (on the host), and doubles its input.
struct tally {
  static constexpr bool is_pure = false;
  std::atomic<long>* calls;
  template <class T>
  FZ_HD T operator()(T x) const {
#ifndef __CUDA_ARCH__
    calls->fetch_add(1, std::memory_order_relaxed);
#endif
    if constexpr (std::is_integral_v<T>)
      return T(std::uint32_t(x) * 2u);
    else
      return x + x;
  }
  template <class T>
  FZ_HD static T derivative(T) {
    return T(2);
  }
};

#ifdef __CUDACC__
template <class T>
__global__ void reverse_last_kernel(const T* in, T* out, std::size_t n, std::size_t row) {
  const std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = in[i - i % row + (row - 1 - i % row)];
}
#endif

// Whole tensor, pure: its input reversed along the last axis.
struct reverse_last {
  using granularity = loom::whole_tensor;
  template <class In, class Out>
  void operator()(In in, Out out) const {
    const std::size_t n = in.size();
    const std::size_t row = in.shape().rank ? in.shape().dims[in.shape().rank - 1] : 1;
    for (std::size_t i = 0; i < n; ++i)
      out.data()[i] = in.data()[i - i % row + (row - 1 - i % row)];
  }
  // Reversing is its own transpose: the gradient is the output's gradient reversed.
  template <class In, class Out, class GradOut, class GradIn>
  void backward(In, Out, GradOut grad_out, GradIn grad_in) const {
    (*this)(grad_out, grad_in);
  }
#ifdef __CUDACC__
  template <class T, class E, class U, class F>
  void operator()(loom::cuda::device_view<const T, E> in,
                  loom::cuda::device_view<U, F> out,
                  cudaStream_t stream) const {
    const std::size_t n = in.size();
    const std::size_t row = in.shape().rank ? in.shape().dims[in.shape().rank - 1] : 1;
    if (n != 0)
      reverse_last_kernel<<<unsigned((n + 255) / 256), 256, 0, stream>>>(
          in.data(), out.data(), n, row);
  }
#endif
};

// Whole tensor, impure: copies its input and counts its calls.
struct record {
  using granularity = loom::whole_tensor;
  static constexpr bool is_pure = false;
  std::atomic<long>* calls;
  template <class In, class Out>
  void operator()(In in, Out out) const {
    calls->fetch_add(1, std::memory_order_relaxed);
    for (std::size_t i = 0; i < in.size(); ++i) out.data()[i] = in.data()[i];
  }
  template <class In, class Out, class GradOut, class GradIn>
  void backward(In, Out, GradOut grad_out, GradIn grad_in) const {
    for (std::size_t i = 0; i < grad_out.size(); ++i) grad_in.data()[i] = grad_out.data()[i];
  }
#ifdef __CUDACC__
  template <class T, class E, class U, class F>
  void operator()(loom::cuda::device_view<const T, E> in,
                  loom::cuda::device_view<U, F> out,
                  cudaStream_t stream) const {
    calls->fetch_add(1, std::memory_order_relaxed);
    if (in.size() != 0)
      loom::cuda::check(
          cudaMemcpyAsync(
              out.data(), in.data(), in.size() * sizeof(T), cudaMemcpyDeviceToDevice, stream),
          "cudaMemcpyAsync");
  }
#endif
};

// A hook callback: keeps a copy of the value it is shown, and counts its calls.
struct probe {
  hook_record* record;
  template <class View>
  void operator()(View v) const {
    ++record->calls;
    record->shape = v.shape();
    record->values.assign(v.size(), 0.0);
    for (std::size_t i = 0; i < v.size(); ++i) record->values[i] = double(v.data()[i]);
  }
};

}  // namespace fz
