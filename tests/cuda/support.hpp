#pragma once

// Shared helpers for loom's CUDA tests: seeded random host tensors, uploads, poisoned device
// outputs (so that an element a kernel never writes shows up), runs of a compiled CUDA model
// both ways (operator() and run() into poisoned buffers), and NaN-aware comparisons that
// report the worst element instead of one assertion per element.
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

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace cuda_test {

using loom::dyn;
using loom::extents;
namespace lc = loom::cuda;

inline constexpr double eps_f = std::numeric_limits<float>::epsilon();  // 2^-23
inline constexpr double u_f = eps_f / 2;                                // unit roundoff, f32
inline constexpr double u_d = std::numeric_limits<double>::epsilon() / 2;
inline constexpr float fnan = std::numeric_limits<float>::quiet_NaN();
inline constexpr double dnan = std::numeric_limits<double>::quiet_NaN();

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

// --- shapes -----------------------------------------------------------------------------------

inline loom::shape make_shape(std::initializer_list<std::size_t> dims) {
  loom::shape s;
  s.rank = dims.size();
  std::size_t d = 0;
  for (std::size_t e : dims) s.dims[d++] = e;
  return s;
}

inline std::string index_text(const loom::shape& s, std::size_t flat) {
  std::array<std::size_t, loom::max_rank> index{};
  for (std::size_t d = s.rank; d-- > 0;) {
    index[d] = s.dims[d] ? flat % s.dims[d] : 0;
    flat = s.dims[d] ? flat / s.dims[d] : 0;
  }
  std::string t = "[";
  for (std::size_t d = 0; d < s.rank; ++d) t += (d ? ", " : "") + std::to_string(index[d]);
  return t + "]";
}

// --- random host tensors ------------------------------------------------------------------------

template <class T, class E, class Draw>
void fill_with(loom::tensor<T, E>& t, std::uint32_t seed, Draw draw) {
  std::mt19937 gen(seed);
  for (auto& v : t) v = static_cast<T>(draw(gen));
}

template <class T, class E>
void fill_uniform(loom::tensor<T, E>& t, std::uint32_t seed, double lo, double hi) {
  std::uniform_real_distribution<double> d(lo, hi);
  fill_with(t, seed, [&](std::mt19937& g) { return d(g); });
}

template <class T, class E>
void fill_normal(loom::tensor<T, E>& t, std::uint32_t seed, double mean, double stddev) {
  std::normal_distribution<double> d(mean, stddev);
  fill_with(t, seed, [&](std::mt19937& g) { return d(g); });
}

// Integers in [lo, hi] (stored as T: integer-valued floats add exactly while the partial
// sums stay below 2^24, in any order).
template <class T, class E>
void fill_int(loom::tensor<T, E>& t, std::uint32_t seed, int lo, int hi) {
  std::uniform_int_distribution<int> d(lo, hi);
  fill_with(t, seed, [&](std::mt19937& g) { return d(g); });
}

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

// --- comparisons ----------------------------------------------------------------------------

// |got - want| <= abs + rel * |want| (or rel * scale, where a reference gives one: the sum
// of the magnitudes of the terms of a sum, whose rounding scales with them).
struct tolerance {
  double rel = 0;
  double abs = 0;
};

// An element as a double; a bool as its raw byte, so that a poisoned (never written) bool
// reads 171 rather than "true".
template <class T>
double as_double(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    unsigned char b;
    std::memcpy(&b, &v, 1);
    return static_cast<double>(b);
  } else {
    return static_cast<double>(v);
  }
}

struct report {
  explicit report(std::string what_) : what(std::move(what_)) {}

  std::string what;
  loom::shape shape;
  bool shape_ok = true;
  std::string shapes;
  std::size_t checked = 0, bad = 0;
  std::size_t first = 0;
  // The element furthest outside its bound (or any NaN/inf mismatch).
  std::size_t worst = 0;
  double worst_excess = -1, got = 0, want = 0, allowed = 0;

  bool ok() const { return shape_ok && bad == 0; }

  void note(std::size_t i, double g, double w, double bound) {
    const double diff = std::abs(g - w);
    const double excess = std::isfinite(diff) ? diff - bound : std::numeric_limits<double>::max();
    if (bad++ == 0) first = i;
    if (excess > worst_excess) {
      worst_excess = excess;
      worst = i;
      got = g;
      want = w;
      allowed = bound;
    }
  }

  std::string describe() const {
    std::ostringstream s;
    s.precision(std::numeric_limits<double>::max_digits10);
    s << what << ": ";
    if (!shape_ok)
      s << "shapes differ: " << shapes;
    else if (bad == 0)
      s << checked << " elements match";
    else
      s << bad << " of " << checked << " elements differ; worst at " << index_text(shape, worst)
        << " (flat " << worst << "): got " << got << ", want " << want << ", |diff| "
        << std::abs(got - want) << " > allowed " << allowed << "; first at "
        << index_text(shape, first);
    return s.str();
  }
};

// NaN-aware closeness: a NaN reference needs a NaN, an infinite one the same infinity; a
// finite one is met within `bound`, never by NaN or infinity.
inline bool close(double got, double want, double bound) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  if (!std::isfinite(got)) return false;
  return std::abs(got - want) <= bound;
}

// A double-precision reference: the expected shape, values, and optionally each element's
// scale for the relative part of the bound.
struct reference {
  loom::shape shape;
  std::vector<double> value;
  std::vector<double> scale;  // empty: the bound scales with |value|
};

template <class Got>
report compare(const Got& got, const reference& want, tolerance tol, std::string what) {
  report r(std::move(what));
  r.shape = got.shape();
  if (!(got.shape() == want.shape) || want.value.size() != got.size()) {
    r.shape_ok = false;
    r.shapes = got.shape().to_string() + " vs expected " + want.shape.to_string();
    return r;
  }
  r.checked = got.size();
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = as_double(got.data()[i]);
    const double w = want.value[i];
    const double scale = want.scale.empty() ? std::abs(w) : want.scale[i];
    const double bound = tol.abs + tol.rel * scale;
    if (!close(g, w, bound)) r.note(i, g, w, bound);
  }
  return r;
}

// Against another tensor (the CPU backend's result).
template <class Got, class Want>
report compare(const Got& got, const Want& want, tolerance tol, std::string what) {
  report r(std::move(what));
  r.shape = got.shape();
  if (!(got.shape() == want.shape())) {
    r.shape_ok = false;
    r.shapes = got.shape().to_string() + " vs expected " + want.shape().to_string();
    return r;
  }
  r.checked = got.size();
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = as_double(got.data()[i]);
    const double w = as_double(want.data()[i]);
    const double bound = tol.abs + tol.rel * std::abs(w);
    if (!close(g, w, bound)) r.note(i, g, w, bound);
  }
  return r;
}

// Exact agreement (NaN equals NaN).
template <class Got, class Want>
report compare_exact(const Got& got, const Want& want, std::string what) {
  return compare(got, want, tolerance{}, std::move(what));
}

// A reference from a function of the flat index.
template <class F>
reference reference_of(const loom::shape& s, F&& f) {
  reference r;
  r.shape = s;
  r.value.resize(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) r.value[i] = static_cast<double>(f(i));
  return r;
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

// The message of the loom::shape_error `f` throws, or a note that it threw none.
template <class F>
std::string shape_error_message(F&& f) {
  try {
    f();
  } catch (const loom::shape_error& e) {
    return e.what();
  }
  return "<no loom::shape_error thrown>";
}

}  // namespace cuda_test

// Asserts a report with its description attached, so that a failure names the worst element.
#define CT_CHECK_REPORT(...)                              \
  do {                                                    \
    const ::cuda_test::report ct_report_ = (__VA_ARGS__); \
    INFO(ct_report_.describe());                          \
    CHECK(ct_report_.ok());                               \
  } while (false)
