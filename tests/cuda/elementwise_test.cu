// Element-wise models on the GPU: generated map kernels at sizes that take the vector path
// (multiples of 4, 16-byte aligned), its scalar tail, the scalar path and the grid-stride
// loop; broadcasting, views read in place (transpose, slice with a step, permute,
// broadcast_to); i32, f64 and bool results; element-wise allow_in_graph<F> with a
// __host__ __device__ F; run-time scalars; several results of one pass; run() into
// caller-owned (poisoned, offset, misaligned) buffers and its shape errors. Each op on its own,
// for each dtype it takes, is in the typed tests (tests/typed/, typed_ops_test.cu).
//
// Every result is checked against the CPU backend's result for the same model and against
// an independent double-precision loop. Outputs are poisoned (NaN for floats, 0xAB bytes
// otherwise) before each run() so that an element no kernel writes shows up.
#include <catch2/catch.hpp>
#include <loom/cuda.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "support.hpp"

using Catch::Matchers::Contains;
using namespace cuda_test;

namespace {

using vec = loom::tensor<float, extents<dyn>>;
using mat = loom::tensor<float, extents<dyn, dyn>>;
using vec_input = loom::input<float, extents<dyn>>;
using mat_input = loom::input<float, extents<dyn, dyn>>;

// Element counts: 1 and 3 are all scalar tail; 4, 1000 and 4096 whole vector packs; 1003 and
// 2^20 + 3 packs and a tail; 2^24 + 4 more packs than the grid has threads (a grid-stride loop).
const std::vector<std::size_t> sizes{1, 3, 4, 1000, 1003, 4096, (1u << 20), (1u << 20) + 3};

// --- callables of the graph (namespace scope: see support.hpp) ---------------------------------

// Soft thresholding by a run-time t, scaled by the functor's own state: the state must reach
// the device with the graph.
struct shrink_scale {
  float k;
  __host__ __device__ float operator()(float x, float t) const {
    const float m = x > t ? x - t : (x < -t ? x + t : 0.f);
    return m * k;
  }
};

// A different output dtype than the input's: i32 (x * 64 is exact, then truncated).
struct quantize {
  using output_type = std::int32_t;
  __host__ __device__ std::int32_t operator()(float x) const {
    return static_cast<std::int32_t>(x * 64.f);
  }
};

// --- models ------------------------------------------------------------------------------------

const auto w1 = [](auto x) {
  return loom::relu(x) * 2.f + 10.f;
};

const auto w2 = [](auto a, auto b, auto c) {
  return loom::tanh(a * b + c) * loom::sigmoid(a - c) + 0.5f * loom::exp(-b * b);
};

double w2_reference(double a, double b, double c) {
  return std::tanh(a * b + c) * (1 / (1 + std::exp(-(a - c)))) + 0.5 * std::exp(-b * b);
}

// exp, tanh and sigmoid differ by a few ulp between the CPU's (Eigen's) and the device's
// functions; a * b + c may be one fused multiply-add on either side. The results are at most
// about 1.5 in magnitude and may cancel to near 0, hence the absolute part.
constexpr tolerance w2_tol{4e-6, 3e-6};

template <class T>
std::string sized(const char* what, T n) {
  return std::string(what) + " n=" + std::to_string(n);
}

}  // namespace

TEST_CASE("relu(x) * 2 + 10 at every size, exact", "[elementwise]") {
  auto cpu = loom::compile(w1, vec_input{});
  auto gpu = loom::cuda::to_cuda(cpu);
  STATIC_REQUIRE(decltype(gpu)::kernel_count == 1);
  std::vector<std::size_t> all = sizes;
  all.push_back((1u << 24) + 4);
  std::uint32_t seed = 1;
  for (std::size_t n : all) {
    const vec x = uniform_tensor<float>(make_shape({n}), seed++, -4, 4);
    // relu and * 2 are exact, + 10 rounds once: the double formula rounded to float is the
    // exact answer, whatever the device fuses.
    const reference want = reference_of(
        x.shape(), [&](std::size_t i) { return float(std::max(double(x(i)), 0.0) * 2 + 10); });
    const vec on_cpu = cpu(x);
    const auto dx = upload(x);
    CT_CHECK_REPORT(compare(on_cpu, want, {}, sized("cpu", n)));
    CT_CHECK_REPORT(compare(call_fresh(gpu, nullptr, dx), want, {}, sized("gpu operator()", n)));
    CT_CHECK_REPORT(compare(run_poisoned(gpu, on_cpu, nullptr, dx), want, {}, sized("gpu run", n)));
  }
  sync_ok();
}

TEST_CASE("tanh(a*b+c) * sigmoid(a-c) + 0.5 exp(-b*b) at every size", "[elementwise]") {
  auto cpu = loom::compile(w2, vec_input{}, vec_input{}, vec_input{});
  auto gpu = loom::cuda::compile(w2, vec_input{}, vec_input{}, vec_input{});
  STATIC_REQUIRE(decltype(gpu)::kernel_count == 1);
  std::uint32_t seed = 100;
  for (std::size_t n : sizes) {
    const loom::shape s = make_shape({n});
    const vec a = uniform_tensor<float>(s, seed++, -2, 2);
    const vec b = uniform_tensor<float>(s, seed++, -2, 2);
    const vec c = uniform_tensor<float>(s, seed++, -2, 2);
    const reference want =
        reference_of(s, [&](std::size_t i) { return w2_reference(a(i), b(i), c(i)); });
    const vec on_cpu = cpu(a, b, c);
    const auto da = upload(a), db = upload(b), dc = upload(c);
    CT_CHECK_REPORT(compare(on_cpu, want, w2_tol, sized("cpu vs double", n)));
    const vec fresh = call_fresh(gpu, nullptr, da, db, dc);
    const vec into = run_poisoned(gpu, on_cpu, nullptr, da, db, dc);
    CT_CHECK_REPORT(compare(fresh, want, w2_tol, sized("gpu operator() vs double", n)));
    CT_CHECK_REPORT(compare(fresh, on_cpu, w2_tol, sized("gpu operator() vs cpu", n)));
    CT_CHECK_REPORT(compare(into, on_cpu, w2_tol, sized("gpu run vs cpu", n)));
    // Both calls run the same kernel on the same data.
    CT_CHECK_REPORT(compare_exact(into, fresh, sized("gpu run vs operator()", n)));
  }
  sync_ok();
}

TEST_CASE("an element-wise allow_in_graph<F> with state and a run-time scalar runs on the device",
          "[elementwise][opaque]") {
  const auto model = [](auto x) {
    return loom::allow_in_graph<shrink_scale>{{2.5f}}(x, 0.5f) + x;
  };
  auto cpu = loom::compile(model, vec_input{});
  auto gpu = loom::cuda::to_cuda(cpu);
  STATIC_REQUIRE(decltype(gpu)::kernel_count == 1);
  std::uint32_t seed = 200;
  for (std::size_t n : sizes) {
    const vec x = uniform_tensor<float>(make_shape({n}), seed++, -2, 2);
    const reference want = reference_of(x.shape(), [&](std::size_t i) {
      const double v = x(i);
      const double m = v > 0.5 ? v - 0.5 : (v < -0.5 ? v + 0.5 : 0.0);
      return m * 2.5 + v;
    });
    const vec on_cpu = cpu(x);
    const auto dx = upload(x);
    // Three roundings at most (x - t, * k, + x; the last two may fuse on the device).
    constexpr tolerance tol{1e-6, 1e-6};
    CT_CHECK_REPORT(compare(on_cpu, want, tol, sized("cpu vs double", n)));
    const vec into = run_poisoned(gpu, on_cpu, nullptr, dx);
    CT_CHECK_REPORT(compare(into, want, tol, sized("gpu vs double", n)));
    CT_CHECK_REPORT(compare(into, on_cpu, tol, sized("gpu vs cpu", n)));
  }
  sync_ok();
}

TEST_CASE("a bias of shape [N] broadcast onto [M, N]", "[elementwise][broadcast]") {
  const auto model = [](auto x, auto b) {
    return loom::relu(x * 0.5f + b);
  };
  auto cpu = loom::compile(model, mat_input{}, vec_input{});
  auto gpu = loom::cuda::to_cuda(cpu);
  const std::size_t shapes[][2] = {{1, 1}, {1, 7}, {37, 1000}, {5, 1003}, {300, 4096}, {4, 1}};
  std::uint32_t seed = 300;
  for (const auto& [m, n] : shapes) {
    const mat x = uniform_tensor<float, extents<dyn, dyn>>(make_shape({m, n}), seed++, -2, 2);
    const vec b = uniform_tensor<float>(make_shape({n}), seed++, -1, 1);
    // x * 0.5 is exact and + b rounds once: exact.
    const reference want = reference_of(x.shape(), [&](std::size_t i) {
      return std::max(float(double(x.data()[i]) * 0.5 + double(b(i % n))), 0.f);
    });
    const std::string what =
        "[" + std::to_string(m) + ", " + std::to_string(n) + "] + [" + std::to_string(n) + "]";
    const mat on_cpu = cpu(x, b);
    const auto dx = upload(x);
    const auto db = upload(b);
    CT_CHECK_REPORT(compare(on_cpu, want, {}, what + " cpu"));
    CT_CHECK_REPORT(compare(run_poisoned(gpu, on_cpu, nullptr, dx, db), want, {}, what + " gpu"));
    CT_CHECK_REPORT(compare(call_fresh(gpu, nullptr, dx, db), want, {}, what + " gpu fresh"));
  }
  SECTION("a bias that does not broadcast throws shape_error naming both shapes") {
    const auto dx = upload(uniform_tensor<float, extents<dyn, dyn>>(make_shape({4, 5}), 1, -1, 1));
    const auto db = upload(uniform_tensor<float>(make_shape({6}), 2, -1, 1));
    const std::string message = shape_error_message([&] { (void)gpu(nullptr, dx, db); });
    CHECK_THAT(message, Contains("[4, 5]") && Contains("[6]"));
  }
  sync_ok();
}

TEST_CASE("views of inputs are read in place: transpose, slices with steps, permute, broadcast_to",
          "[elementwise][views]") {
  using cube_input = loom::input<float, extents<dyn, dyn, dyn>>;
  using cube = loom::tensor<float, extents<dyn, dyn, dyn>>;
  const auto model = [](auto x, auto c, auto y) {
    return std::make_tuple(loom::transpose(x) + 1.f,                               // [N, M]
                           loom::slice<1, 1, -1, 3>(x) + 0.5f,                     // x[:, 1:-1:3]
                           loom::slice<0, 1, loom::ops::slice_end, 2>(x) - 0.25f,  // x[1::2, :]
                           loom::broadcast_to<extents<4, dyn, 9>>(c) * 2.f,        // [4, M, 9]
                           loom::permute<2, 0, 1>(y) + 1.f);                       // [C, A, B]
  };
  auto cpu = loom::compile(model, mat_input{}, mat_input{}, cube_input{});
  auto gpu = loom::cuda::to_cuda(cpu);
  // M x N with rows of whole packs (32 x 64: the transpose's rows are 32 long) and not
  // (129 x 257), and a single row.
  const std::size_t shapes[][2] = {{32, 64}, {129, 257}, {1, 5}, {6, 11}};
  std::uint32_t seed = 400;
  for (const auto& [m, n] : shapes) {
    const mat x = uniform_tensor<float, extents<dyn, dyn>>(make_shape({m, n}), seed++, -3, 3);
    const mat c = uniform_tensor<float, extents<dyn, dyn>>(make_shape({m, 1}), seed++, -3, 3);
    const std::size_t A = 3 + m % 5, B = 5, C = 2 + n % 7;
    const cube y =
        uniform_tensor<float, extents<dyn, dyn, dyn>>(make_shape({A, B, C}), seed++, -3, 3);
    const std::string what = "x [" + std::to_string(m) + ", " + std::to_string(n) + "]";

    // Each result rounds once (or not at all): exact.
    const std::size_t cols = n >= 3 ? (n - 2 + 2) / 3 : 0;  // len(range(1, n - 1, 3))
    const std::size_t rows = m / 2;                         // len(range(1, m, 2))
    const reference t = reference_of(
        make_shape({n, m}), [&](std::size_t i) { return float(double(x(i % m, i / m)) + 1.0); });
    const reference s = reference_of(make_shape({m, cols}), [&](std::size_t i) {
      return float(double(x(i / cols, 1 + 3 * (i % cols))) + 0.5);
    });
    const reference r = reference_of(make_shape({rows, n}), [&](std::size_t i) {
      return float(double(x(1 + 2 * (i / n), i % n)) - 0.25);
    });
    const reference b = reference_of(
        make_shape({4, m, 9}), [&](std::size_t i) { return double(c((i / 9) % m, 0)) * 2.0; });
    const reference p = reference_of(make_shape({C, A, B}), [&](std::size_t i) {
      const std::size_t k = i / (A * B), a = i / B % A,
                        bb = i % B;  // result [k, a, bb] = y[a, bb, k]
      return float(double(y(a, bb, k)) + 1.0);
    });

    const auto on_cpu = cpu(x, c, y);
    const auto dx = upload(x);
    const auto dc = upload(c);
    const auto dy = upload(y);
    for (int path = 0; path < 2; ++path) {
      const auto got = path == 0 ? run_poisoned(gpu, on_cpu, nullptr, dx, dc, dy)
                                 : call_fresh(gpu, nullptr, dx, dc, dy);
      const std::string how = what + (path == 0 ? " run" : " operator()");
      CT_CHECK_REPORT(compare(std::get<0>(got), t, {}, how + " transpose"));
      CT_CHECK_REPORT(compare(std::get<1>(got), s, {}, how + " slice<1, 1, -1, 3>"));
      CT_CHECK_REPORT(compare(std::get<2>(got), r, {}, how + " slice<0, 1, end, 2>"));
      CT_CHECK_REPORT(compare(std::get<3>(got), b, {}, how + " broadcast_to<4, ?, 9>"));
      CT_CHECK_REPORT(compare(std::get<4>(got), p, {}, how + " permute<2, 0, 1>"));
    }
    CT_CHECK_REPORT(compare(std::get<0>(on_cpu), t, {}, what + " cpu transpose"));
    CT_CHECK_REPORT(compare(std::get<1>(on_cpu), s, {}, what + " cpu slice"));
    CT_CHECK_REPORT(compare(std::get<3>(on_cpu), b, {}, what + " cpu broadcast_to"));
  }
  sync_ok();
}

TEST_CASE("i32, f64 and bool results, element-wise F with an i32 result, where",
          "[elementwise][dtypes]") {
  using ivec = loom::tensor<std::int32_t, extents<dyn>>;
  using dvec = loom::tensor<double, extents<dyn>>;
  const auto model = [](auto a, auto i, auto d) {
    return std::make_tuple(a > 0.25f,                            // bool
                           i * 3 - 7,                            // i32
                           d * d + 1.0,                          // f64
                           loom::where(i > 0, a, -a),            // f32
                           loom::allow_in_graph<quantize>{}(a),  // i32 from an f32 input
                           loom::cast<double>(a) * d,            // f64
                           i >= 10);                             // bool from i32
  };
  auto cpu = loom::compile(model,
                           vec_input{},
                           loom::input<std::int32_t, extents<dyn>>{},
                           loom::input<double, extents<dyn>>{});
  auto gpu = loom::cuda::to_cuda(cpu);
  std::uint32_t seed = 500;
  for (std::size_t n : {std::size_t(1),
                        std::size_t(3),
                        std::size_t(1000),
                        std::size_t(4099),
                        std::size_t((1u << 20) + 1)}) {
    const loom::shape s = make_shape({n});
    const vec a = uniform_tensor<float>(s, seed++, -2, 2);
    const ivec i = int_tensor<std::int32_t>(s, seed++, -1000, 1000);
    const dvec d = uniform_tensor<double>(s, seed++, -3, 3);

    const auto on_cpu = cpu(a, i, d);
    const auto da = upload(a);
    const auto di = upload(i);
    const auto dd = upload(d);
    const auto got = run_poisoned(gpu, on_cpu, nullptr, da, di, dd);
    const std::string what = sized("dtypes", n);

    CT_CHECK_REPORT(
        compare(std::get<0>(got),
                reference_of(s, [&](std::size_t k) { return a(k) > 0.25f ? 1.0 : 0.0; }),
                {},
                what + " a > 0.25 (bool)"));
    CT_CHECK_REPORT(compare(std::get<1>(got),
                            reference_of(s, [&](std::size_t k) { return 3.0 * i(k) - 7; }),
                            {},
                            what + " i * 3 - 7 (i32)"));
    // One or two roundings in f64 (the device may fuse the multiply-add).
    CT_CHECK_REPORT(compare(std::get<2>(got),
                            reference_of(s, [&](std::size_t k) { return d(k) * d(k) + 1.0; }),
                            {4 * u_d, 0},
                            what + " d * d + 1 (f64)"));
    CT_CHECK_REPORT(compare(std::get<3>(got),
                            reference_of(s, [&](std::size_t k) { return i(k) > 0 ? a(k) : -a(k); }),
                            {},
                            what + " where (f32)"));
    CT_CHECK_REPORT(
        compare(std::get<4>(got),
                reference_of(s, [&](std::size_t k) { return std::trunc(double(a(k)) * 64); }),
                {},
                what + " quantize (i32)"));
    CT_CHECK_REPORT(compare(std::get<5>(got),
                            reference_of(s, [&](std::size_t k) { return double(a(k)) * d(k); }),
                            {u_d, 0},
                            what + " cast<double>(a) * d (f64)"));
    CT_CHECK_REPORT(compare(std::get<6>(got),
                            reference_of(s, [&](std::size_t k) { return i(k) >= 10 ? 1.0 : 0.0; }),
                            {},
                            what + " i >= 10 (bool)"));
    // And the CPU backend agrees (exactly, but for the f64 multiply-add).
    CT_CHECK_REPORT(compare_exact(std::get<0>(got), std::get<0>(on_cpu), what + " vs cpu 0"));
    CT_CHECK_REPORT(compare_exact(std::get<1>(got), std::get<1>(on_cpu), what + " vs cpu 1"));
    CT_CHECK_REPORT(
        compare(std::get<2>(got), std::get<2>(on_cpu), {4 * u_d, 0}, what + " vs cpu 2"));
    CT_CHECK_REPORT(compare_exact(std::get<3>(got), std::get<3>(on_cpu), what + " vs cpu 3"));
    CT_CHECK_REPORT(compare_exact(std::get<4>(got), std::get<4>(on_cpu), what + " vs cpu 4"));
    CT_CHECK_REPORT(compare_exact(std::get<5>(got), std::get<5>(on_cpu), what + " vs cpu 5"));
    CT_CHECK_REPORT(compare_exact(std::get<6>(got), std::get<6>(on_cpu), what + " vs cpu 6"));
  }
  sync_ok();
}

namespace {
auto scaled_by(float alpha) {
  return loom::cuda::compile([alpha](auto x) { return x * alpha + 1.f; }, vec_input{});
}
auto scaled_by_on_cpu(float alpha) {
  return loom::compile([alpha](auto x) { return x * alpha + 1.f; }, vec_input{});
}
}  // namespace

TEST_CASE("a run-time scalar reaches the kernel: one compiled type, two values",
          "[elementwise][scalars]") {
  auto twice = scaled_by(2.5f);
  auto negated = scaled_by(-3.f);
  STATIC_REQUIRE(std::is_same_v<decltype(twice), decltype(negated)>);
  const vec x = uniform_tensor<float>(make_shape({(1u << 16) + 1}), 600, -2, 2);
  const auto dx = upload(x);
  // x * alpha + 1: one rounding or two (a fused multiply-add on either side).
  constexpr tolerance tol{2 * eps_f, 2 * eps_f};
  for (float alpha : {2.5f, -3.f}) {
    const auto& m = alpha > 0 ? twice : negated;
    const vec on_cpu = scaled_by_on_cpu(alpha)(x);
    const reference want =
        reference_of(x.shape(), [&](std::size_t i) { return double(x(i)) * alpha + 1; });
    const std::string what = "alpha " + std::to_string(alpha);
    CT_CHECK_REPORT(compare(run_poisoned(m, on_cpu, nullptr, dx), want, tol, what + " gpu"));
    CT_CHECK_REPORT(compare(call_fresh(m, nullptr, dx), on_cpu, tol, what + " gpu vs cpu"));
  }
  sync_ok();
}

TEST_CASE("several results of one pass", "[elementwise][outputs]") {
  // One input, so the results provably share one iteration space: one kernel writes all four
  // (two dyn inputs would be two iteration spaces to the planner, so passes of their own).
  const auto model = [](auto x) {
    return std::make_tuple(x * 3.f, x + 1.f, loom::maximum(x, 0.5f) - x, x > 0.f);
  };
  auto cpu = loom::compile(model, vec_input{});
  auto gpu = loom::cuda::to_cuda(cpu);
  STATIC_REQUIRE(decltype(gpu)::kernel_count == 1);
  std::uint32_t seed = 700;
  for (std::size_t n : {std::size_t(5), std::size_t(1000), std::size_t((1u << 20) + 3)}) {
    const loom::shape s = make_shape({n});
    const vec x = uniform_tensor<float>(s, seed++, -5, 5);
    const auto on_cpu = cpu(x);
    const auto dx = upload(x);
    // Each rounds once (or not at all): exact.
    const reference tripled =
        reference_of(s, [&](std::size_t i) { return float(double(x(i)) * 3); });
    const reference plus_one =
        reference_of(s, [&](std::size_t i) { return float(double(x(i)) + 1); });
    const reference gap =
        reference_of(s, [&](std::size_t i) { return float(std::max(double(x(i)), 0.5) - x(i)); });
    const reference positive = reference_of(s, [&](std::size_t i) { return x(i) > 0 ? 1.0 : 0.0; });
    for (int path = 0; path < 2; ++path) {
      const auto got =
          path == 0 ? run_poisoned(gpu, on_cpu, nullptr, dx) : call_fresh(gpu, nullptr, dx);
      const std::string what = sized(path == 0 ? "run" : "operator()", n);
      CT_CHECK_REPORT(compare(std::get<0>(got), tripled, {}, what + " x * 3"));
      CT_CHECK_REPORT(compare(std::get<1>(got), plus_one, {}, what + " x + 1"));
      CT_CHECK_REPORT(compare(std::get<2>(got), gap, {}, what + " max(x, 0.5) - x"));
      CT_CHECK_REPORT(compare(std::get<3>(got), positive, {}, what + " x > 0"));
    }
    CT_CHECK_REPORT(compare(std::get<0>(on_cpu), tripled, {}, sized("cpu x * 3", n)));
  }
  sync_ok();
}

TEST_CASE("run() writes exactly its output: views into a poisoned buffer, and in place",
          "[elementwise][run]") {
  auto cpu = loom::compile(w1, vec_input{});
  auto gpu = loom::cuda::to_cuda(cpu);
  const std::size_t n = 1000, margin = 64;
  const vec x = uniform_tensor<float>(make_shape({n}), 800, -4, 4);
  const vec want = cpu(x);
  const auto dx = upload(x);
  // Offsets of 32 floats keep 16-byte alignment (vector stores); 1 does not (scalar stores).
  for (std::size_t offset : {std::size_t(32), std::size_t(1), std::size_t(3)}) {
    auto buffer = poisoned<float, extents<dyn>>(make_shape({n + 2 * margin}));
    lc::device_view<float, extents<dyn>> out(buffer.data() + offset, make_shape({n}));
    gpu.run(nullptr, out, dx);
    const vec all = lc::to_host(buffer);
    const std::string what = "output at offset " + std::to_string(offset);
    std::size_t touched_outside = 0;
    for (std::size_t i = 0; i < all.size(); ++i)
      if ((i < offset || i >= offset + n) && !is_poison(all(i))) ++touched_outside;
    INFO(what);
    CHECK(touched_outside == 0);
    vec inside(make_shape({n}));
    std::copy(all.begin() + offset, all.begin() + offset + n, inside.begin());
    CT_CHECK_REPORT(compare_exact(inside, want, what));
  }
  SECTION("an output may be the input: updated in place") {
    auto d = upload(x);
    gpu.run(nullptr, d, d);
    CT_CHECK_REPORT(compare_exact(lc::to_host(d), want, "in place"));
  }
  sync_ok();
}

TEST_CASE("run() with a wrongly shaped output throws shape_error and writes nothing",
          "[elementwise][run][errors]") {
  auto gpu = loom::cuda::compile(w1, vec_input{});
  const vec x = uniform_tensor<float>(make_shape({10}), 900, -1, 1);
  const auto dx = upload(x);
  auto wrong = poisoned<float, extents<dyn>>(make_shape({11}));
  const std::string message = shape_error_message([&] { gpu.run(nullptr, wrong, dx); });
  CHECK_THAT(message, Contains("[11]") && Contains("[10]"));
  const vec after = lc::to_host(wrong);
  std::size_t written = 0;
  for (float v : after) written += is_poison(v) ? 0 : 1;
  CHECK(written == 0);

  SECTION("a 2-D output with the wrong extent") {
    auto bias = loom::cuda::compile([](auto m, auto b) { return m + b; }, mat_input{}, vec_input{});
    const auto dm =
        upload(uniform_tensor<float, extents<dyn, dyn>>(make_shape({3, 4}), 901, -1, 1));
    const auto db = upload(uniform_tensor<float>(make_shape({4}), 902, -1, 1));
    loom::cuda::device_tensor<float, extents<dyn, dyn>> out(3, 5);
    CHECK_THAT(shape_error_message([&] { bias.run(nullptr, out, dm, db); }),
               Contains("[3, 5]") && Contains("[3, 4]"));
  }
  sync_ok();
}

TEST_CASE("inputs and outputs at misaligned offsets take the scalar path", "[elementwise][views]") {
  auto cpu = loom::compile(w2, vec_input{}, vec_input{}, vec_input{});
  auto gpu = loom::cuda::to_cuda(cpu);
  using in_view = lc::device_view<const float, extents<dyn>>;
  using out_view = lc::device_view<float, extents<dyn>>;
  std::uint32_t seed = 1000;
  for (std::size_t n : {std::size_t(1000), std::size_t(4096), std::size_t((1u << 20) + 3)}) {
    const loom::shape s = make_shape({n});
    const vec a = uniform_tensor<float>(s, seed++, -2, 2);
    const vec b = uniform_tensor<float>(s, seed++, -2, 2);
    const vec c = uniform_tensor<float>(s, seed++, -2, 2);
    const vec on_cpu = cpu(a, b, c);
    // One buffer holds a at offset 1, b at n + 2 and c at 2n + 3 (all misaligned, each
    // differently); the output goes to offset 1 of a poisoned buffer.
    lc::device_tensor<float, extents<dyn>> inputs(make_shape({3 * n + 8}));
    const std::size_t at[3] = {1, n + 2, 2 * n + 3};
    const vec* host[3] = {&a, &b, &c};
    for (int k = 0; k < 3; ++k)
      lc::copy(host[k]->view(), out_view(inputs.data() + at[k], s), nullptr);
    auto out_buffer = poisoned<float, extents<dyn>>(make_shape({n + 2}));
    out_view out(out_buffer.data() + 1, s);
    gpu.run(nullptr,
            out,
            in_view(inputs.data() + at[0], s),
            in_view(inputs.data() + at[1], s),
            in_view(inputs.data() + at[2], s));
    const vec all = lc::to_host(out_buffer);
    CHECK(is_poison(all(0)));
    CHECK(is_poison(all(n + 1)));
    vec got(s);
    std::copy(all.begin() + 1, all.begin() + 1 + n, got.begin());
    CT_CHECK_REPORT(compare(got, on_cpu, w2_tol, sized("misaligned vs cpu", n)));
    CT_CHECK_REPORT(
        compare(got,
                reference_of(s, [&](std::size_t i) { return w2_reference(a(i), b(i), c(i)); }),
                w2_tol,
                sized("misaligned vs double", n)));
  }
  sync_ok();
}
