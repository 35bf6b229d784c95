#pragma once

// Shared helpers for loom's CUDA tests: seeded random host tensors, uploads, poisoned device
// outputs (so that an element a kernel never writes shows up), and runs of a compiled CUDA
// model both ways (operator() and run() into poisoned buffers). The random fills, shapes and
// NaN-aware comparisons that report the worst element instead of one assertion per element
// are tests/common/'s, shared with the CPU tests, and brought into cuda_test below.
//
// Things nvcc imposes on the tests (see also the notes in each file):
//  - a hook callback or allow_in_graph<F> must be a named class at namespace scope: the graph
//    type (which holds the callable) is a template argument of every generated __global__
//    kernel, and nvcc rejects lambda closure types and local types there;
//  - hook callbacks and whole-tensor F's keep their host (tensor_view) overload, because
//    tracing checks for it even when the model only runs on the GPU.

#include <cuda_runtime.h>
#include <catch2/catch.hpp>
#include <loom/cuda.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "../common/compare.hpp"
#include "../common/error_message.hpp"
#include "../common/random_fill.hpp"
#include "../common/shapes.hpp"

namespace cuda_test {

using loom::dyn;
using loom::extents;
namespace lc = loom::cuda;

// From tests/common/ (shared with the CPU tests).
using loom_test::as_double;
using loom_test::compare;
using loom_test::compare_exact;
using loom_test::dnan;
using loom_test::eps_f;
using loom_test::fill_int;
using loom_test::fill_normal;
using loom_test::fill_uniform;
using loom_test::fnan;
using loom_test::make_shape;
using loom_test::reference;
using loom_test::reference_of;
using loom_test::report;
using loom_test::shape_error_message;
using loom_test::tolerance;
using loom_test::u_d;
using loom_test::u_f;

// --- CUDA calls the tests make themselves -----------------------------------------------------

inline void cuda_ok(cudaError_t status, const char* call) {
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    FAIL(call << " failed: " << cudaGetErrorName(status) << ": " << cudaGetErrorString(status));
  }
}
#define CT_CUDA(call) ::cuda_test::cuda_ok((call), #call)

// Waits for all the GPU's work and fails the test on any error it left behind (a kernel
// fault, a bad launch), so that no error leaks silently into the next check.
inline void sync_ok() {
  CT_CUDA(cudaDeviceSynchronize());
  CT_CUDA(cudaGetLastError());
}

// A stream made (non-blocking, so that it never synchronises implicitly with the legacy
// default stream) and destroyed with the test.
struct scoped_stream {
  cudaStream_t s = nullptr;
  scoped_stream() { CT_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking)); }
  ~scoped_stream() {
    (void)cudaStreamSynchronize(s);
    (void)cudaStreamDestroy(s);
  }
  scoped_stream(const scoped_stream&) = delete;
  scoped_stream& operator=(const scoped_stream&) = delete;
  operator cudaStream_t() const { return s; }
};

// --- random host tensors ------------------------------------------------------------------------

template <class T, class E = extents<dyn>>
loom::tensor<T, E> uniform_tensor(const loom::shape& s, std::uint32_t seed, double lo, double hi) {
  loom::tensor<T, E> t(s);
  fill_uniform(t, seed, lo, hi);
  return t;
}

template <class T, class E = extents<dyn>>
loom::tensor<T, E> normal_tensor(const loom::shape& s,
                                 std::uint32_t seed,
                                 double mean,
                                 double stddev) {
  loom::tensor<T, E> t(s);
  fill_normal(t, seed, mean, stddev);
  return t;
}

template <class T, class E = extents<dyn>>
loom::tensor<T, E> int_tensor(const loom::shape& s, std::uint32_t seed, int lo, int hi) {
  loom::tensor<T, E> t(s);
  fill_int(t, seed, lo, hi);
  return t;
}

// --- device buffers --------------------------------------------------------------------------

// The byte every element of a poisoned buffer is made of: all-ones is a NaN for f32 and
// f64; for i32 (0xABABABAB) and bool (171) it is a value no test expects.
template <class T>
inline constexpr unsigned char poison_byte = std::is_floating_point_v<T> ? 0xFF : 0xAB;

template <class T, class E>
void poison(const lc::device_view<T, E>& v, cudaStream_t stream = nullptr) {
  if (v.size() != 0)
    CT_CUDA(cudaMemsetAsync(v.data(), poison_byte<T>, v.size() * sizeof(T), stream));
}
template <class T, class E>
void poison(lc::device_tensor<T, E>& t, cudaStream_t stream = nullptr) {
  poison(t.view(), stream);
}

template <class T, class E>
lc::device_tensor<T, E> poisoned(const loom::shape& s, cudaStream_t stream = nullptr) {
  lc::device_tensor<T, E> d(s, stream);
  poison(d, stream);
  return d;
}

template <class T, class E>
lc::device_tensor<T, E> poisoned_like(const loom::tensor<T, E>& like,
                                      cudaStream_t stream = nullptr) {
  return poisoned<T, E>(like.shape(), stream);
}

template <class T>
bool is_poison(const T& value) {
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  for (unsigned char b : bytes)
    if (b != poison_byte<T>) return false;
  return true;
}

template <class T, class E>
lc::device_tensor<T, E> upload(const loom::tensor<T, E>& host, cudaStream_t stream = nullptr) {
  return lc::to_device(host, stream);
}

// --- running a compiled CUDA model ------------------------------------------------------------

template <class T>
inline constexpr bool is_tuple_v = false;
template <class... T>
inline constexpr bool is_tuple_v<std::tuple<T...>> = true;

// Host copies of a device result or a tuple of them.
template <class R>
auto host_of(const R& r, cudaStream_t stream = nullptr) {
  if constexpr (is_tuple_v<R>)
    return std::apply([&](const auto&... d) { return std::make_tuple(lc::to_host(d, stream)...); },
                      r);
  else
    return lc::to_host(r, stream);
}

// m(stream, args...) into new device tensors, copied back to the host.
template <class M, class... Args>
auto call_fresh(const M& m, cudaStream_t stream, const Args&... args) {
  return host_of(m(stream, args...), stream);
}

// m.run(stream, outs, args...) into poisoned device buffers shaped like `like` (the CPU
// result, or a tuple of them), copied back to the host.
template <class M, class Like, class... Args>
auto run_poisoned(const M& m, const Like& like, cudaStream_t stream, const Args&... args) {
  if constexpr (is_tuple_v<Like>) {
    auto outs = std::apply(
        [&](const auto&... t) { return std::make_tuple(poisoned_like(t, stream)...); }, like);
    std::apply([&](auto&... o) { m.run(stream, std::tie(o...), args...); }, outs);
    return host_of(outs, stream);
  } else {
    auto out = poisoned_like(like, stream);
    m.run(stream, out, args...);
    return lc::to_host(out, stream);
  }
}

// Runs `f`; a loom::error it throws (a cuda_error from a failed launch, say) fails the check
// and the test case goes on, so that one failing shape does not hide the others.
template <class F>
void guarded(const std::string& what, F&& f) {
  try {
    f();
  } catch (const loom::error& e) {
    FAIL_CHECK(what << " threw: " << e.what());
  }
}

}  // namespace cuda_test

// The CUDA tests' name for LOOM_CHECK_REPORT (tests/common/compare.hpp).
#define CT_CHECK_REPORT(...) LOOM_CHECK_REPORT(__VA_ARGS__)
