#pragma once

// The backends the typed tests (tests/typed/*_cases.hpp) run on, so that each case is written
// once and runs on the CPU always and on CUDA where a device is present. A backend compiles a
// model as loom::compile does and runs it on host tensors, giving host tensors back:
//  - cpu_backend: loom::compile, then the model's operator();
//  - cuda_backend (nvcc only): loom::cuda::compile; the inputs are copied to the device, the
//    model runs on a stream both ways (operator() into new device tensors, and run() into
//    poisoned ones, which must agree bit for bit, so that an element no kernel writes shows
//    up), and the result is copied back.
// A test type pairs a backend with a dtype (cpu<float>, cuda<double>...); LOOM_TYPED_BACKENDS
// lists the backends of the translation unit, for TEMPLATE_PRODUCT_TEST_CASE:
//   TEMPLATE_PRODUCT_TEST_CASE("name", "[typed]", LOOM_TYPED_BACKENDS, LOOM_TYPED_FLOATS)
// typed_*_cpu_test.cpp build the cases for the CPU; tests/cuda/typed_*_test.cu for the device
// only.
// The CPU is not built again there: it would double nvcc's time for runs the CPU files
// already make. (Built with both backends, these cases once showed an nvcc 13 fault in the
// CPU's lanes, fixed in backends/cpu/lanes.hpp.)
//
// Also here: what every case needs besides the backend (a dtype's unit roundoff and name,
// seeded random tensors of any dtype, labels). Host code only.

#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "../common/compare.hpp"
#include "../common/random_fill.hpp"
#include "../common/shapes.hpp"

#ifdef __CUDACC__
#include "../cuda/support.hpp"
#endif

namespace loom_typed {

using loom::dyn;
using loom::extents;
using loom_test::compare;
using loom_test::make_shape;
using loom_test::reference;
using loom_test::reference_of;
using loom_test::tolerance;

template <class T>
inline constexpr bool is_tuple_v = false;
template <class... T>
inline constexpr bool is_tuple_v<std::tuple<T...>> = true;

struct cpu_backend {
  static constexpr const char* name = "cpu";

  template <class Model, class... Inputs>
  static auto compile(const Model& model, const Inputs&... inputs) {
    return loom::compile(model, inputs...);
  }

  template <class Compiled, class... Host>
  static auto run(const Compiled& m, const Host&... host) {
    return m(host...);
  }
};

#ifdef __CUDACC__
struct cuda_backend {
  static constexpr const char* name = "cuda";

  template <class Model, class... Inputs>
  static auto compile(const Model& model, const Inputs&... inputs) {
    return loom::cuda::compile(model, inputs...);
  }

  template <class Compiled, class... Host>
  static auto run(const Compiled& m, const Host&... host) {
    const cuda_test::scoped_stream stream;
    const auto device = std::make_tuple(loom::cuda::to_device(host, stream)...);
    return std::apply(
        [&](const auto&... d) {
          auto fresh = cuda_test::host_of(m(stream, d...), stream);
          const auto into = cuda_test::run_poisoned(m, fresh, stream, d...);
          if constexpr (is_tuple_v<decltype(fresh)>)
            check_same_runs(
                into, fresh, std::make_index_sequence<std::tuple_size_v<decltype(fresh)>>{});
          else
            check_same_run(into, fresh);
          cuda_test::sync_ok();
          return fresh;
        },
        device);
  }

 private:
  template <class Into, class Fresh>
  static void check_same_run(const Into& into, const Fresh& fresh) {
    LOOM_CHECK_REPORT(loom_test::compare_same(into, fresh, "run() into poisoned outputs"));
  }
  template <class Into, class Fresh, std::size_t... K>
  static void check_same_runs(const Into& into, const Fresh& fresh, std::index_sequence<K...>) {
    (check_same_run(std::get<K>(into), std::get<K>(fresh)), ...);
  }
};
#endif

// Test types: a backend and a dtype.
template <class T>
struct cpu {
  using backend = cpu_backend;
  using value_type = T;
};
#ifdef __CUDACC__
template <class T>
struct cuda {
  using backend = cuda_backend;
  using value_type = T;
};
#endif

// --- dtypes --------------------------------------------------------------------------------

// The unit roundoff of T's arithmetic, or of its storage for bf16 and f16, whose ops compute
// in f32 and round each result (0 for i32, whose arithmetic is exact).
template <class T>
inline constexpr double unit_roundoff = std::is_same_v<T, float>        ? loom_test::u_f
                                        : std::is_same_v<T, double>     ? loom_test::u_d
                                        : std::is_same_v<T, loom::bf16> ? 0x1p-8
                                        : std::is_same_v<T, loom::f16>  ? 0x1p-11
                                                                        : 0.0;

// One tolerance per floating dtype, stated by each case; integers are exact.
template <class T>
constexpr tolerance per_dtype(tolerance f32, tolerance f64) {
  if constexpr (std::is_same_v<T, float>)
    return f32;
  else if constexpr (std::is_same_v<T, double>)
    return f64;
  else
    return {};
}

// "<backend> <dtype> <what>": what a failure message starts with.
template <class TestType>
std::string label(const std::string& what) {
  return std::string(TestType::backend::name) + " " +
         std::string(loom::dtype_name<typename TestType::value_type>()) + " " + what;
}

// --- random tensors ------------------------------------------------------------------------

// A tensor of shape `s` with values drawn in [lo, hi] from `seed`: uniform for floating
// dtypes, uniform integers for i32 (lo and hi rounded towards 0).
template <class T, class E = extents<dyn>>
loom::tensor<T, E> random_tensor(const loom::shape& s, std::uint32_t seed, double lo, double hi) {
  loom::tensor<T, E> t(s);
  if constexpr (std::is_floating_point_v<T>)
    loom_test::fill_uniform(t, seed, lo, hi);
  else
    loom_test::fill_int(t, seed, int(lo), int(hi));
  return t;
}

// Element i (flat, row-major) of a tensor as a double.
template <class Tensor>
double at(const Tensor& t, std::size_t i) {
  return loom_test::as_double(t.data()[i]);
}

}  // namespace loom_typed

#ifdef __CUDACC__
#define LOOM_TYPED_BACKENDS (loom_typed::cuda)
#else
#define LOOM_TYPED_BACKENDS (loom_typed::cpu)
#endif

// The dtypes of the cases: the floating ones, and those with int32 where the op takes it.
// A CUDA build for no device (LOOM_TYPED_COMPILE_ONLY, set by tests/CMakeLists.txt for PTX-only
// builds) only shows that the cases compile, and f32 shows that at a third less of nvcc's time.
// The half-precision dtypes (half_cases.hpp), bf16 alone where the cases are only compiled.
#ifdef LOOM_TYPED_COMPILE_ONLY
#define LOOM_TYPED_FLOATS (float)
#define LOOM_TYPED_NUMBERS (float, std::int32_t)
#define LOOM_TYPED_HALVES (loom::bf16)
#else
#define LOOM_TYPED_FLOATS (float, double)
#define LOOM_TYPED_NUMBERS (float, double, std::int32_t)
#define LOOM_TYPED_HALVES (loom::bf16, loom::f16)
#endif
