// W1: relu(x) * 2 + 10 over float32, one input, one output (BENCH.md); and over bf16.
//
// Three cheap element-wise ops: a fused pass is bound by memory bandwidth at 2^24 and by the
// cost of the loop itself at 2^16 (in cache), so this is where any per-element overhead of
// loom's fused loop shows. The peers are the same math as a hand-written vectorised loop, as
// one Eigen expression, op by op into temporaries (the best an eager framework does), and a
// copy of the same bytes (the memory limit). No libtorch variant: it is not installed here.
#include "../harness.hpp"

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <loom/loom.hpp>
#include <utility>
#include <vector>

namespace {

using loom_bench::vec;
using array = Eigen::Map<Eigen::ArrayXf, Eigen::Aligned64>;  // loom's buffers are 64-byte aligned
using const_array = Eigen::Map<const Eigen::ArrayXf, Eigen::Aligned64>;

const auto model = [](auto x) {
  return loom::relu(x) * 2.f + 10.f;
};

std::size_t size_of(const benchmark::State& state) {
  return static_cast<std::size_t>(state.range(0));
}
std::size_t ideal_bytes(std::size_t n) {
  return 2 * n * sizeof(float);
}

void verify(benchmark::State& state, const vec& out) {
  const vec& x = loom_bench::input(0, out.size());
  loom_bench::check(
      state, out, [&](std::size_t i) { return std::max(double(x.data()[i]), 0.0) * 2 + 10; }, 1e-6);
}

void loom_fused(benchmark::State& state) {
  loom_bench::run_fused<1>(state, model, 2 * sizeof(float), 0, verify);
}
void loom_fused_t1(benchmark::State& state) {
  loom_bench::run_fused<1>(state, model, 2 * sizeof(float), 1, verify);
}
void loom_eager(benchmark::State& state) {
  loom_bench::run_eager<1>(state, model, 2 * sizeof(float), verify);
}

// The ternary, not std::max: under `#pragma omp simd` GCC 12 leaves a std::max loop scalar
// (checked with -fopt-info-vec), while this form compiles to masked AVX-512 compares.
__attribute__((noinline)) void hand(const float* __restrict x,
                                    float* __restrict out,
                                    std::size_t n) {
#pragma omp simd
  for (std::size_t i = 0; i < n; ++i) {
    const float r = x[i] < 0.f ? 0.f : x[i];
    out[i] = r * 2.f + 10.f;
  }
}

void hand_loop(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const vec& x = loom_bench::input(0, n);
  vec out = loom_bench::output(n);
  loom_bench::measure(state, ideal_bytes(n), [&] { hand(x.data(), out.data(), n); });
  verify(state, out);
}

void eigen_direct(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const vec& x = loom_bench::input(0, n);
  vec out = loom_bench::output(n);
  const_array X(x.data(), n);
  array O(out.data(), n);
  loom_bench::measure(state, ideal_bytes(n), [&] { O = X.max(0.f) * 2.f + 10.f; });
  verify(state, out);
}

// One pass per op, each into its own preallocated temporary.
void eager_temps(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const vec& x = loom_bench::input(0, n);
  vec t0 = loom_bench::output(n), t1 = loom_bench::output(n), out = loom_bench::output(n);
  const_array X(x.data(), n);
  array T0(t0.data(), n), T1(t1.data(), n), O(out.data(), n);
  loom_bench::measure(state, ideal_bytes(n), [&] {
    T0 = X.max(0.f);
    T1 = T0 * 2.f;
    O = T1 + 10.f;
  });
  verify(state, out);
}

// W1 on bf16 (W1_relu_chain_bf16): the same model over half the bytes. Loom's pass widens
// each block to f32 and rounds the result back; the hand loop does the same with the
// conversions written out (a shift; round to nearest even on the store, without NaN's
// special case, which relu's inputs here never need).
using vec16 = loom::tensor<loom::bf16, loom::extents<loom::dyn>>;

vec16 input_bf16(std::size_t n) {
  const vec& x = loom_bench::input(0, n);
  vec16 h(n);
  for (std::size_t i = 0; i < n; ++i) h.data()[i] = loom::bf16(x.data()[i]);
  return h;
}

// Within bf16's rounding of the result (2^-8 of it) of the exact value on the bf16 input.
void verify_bf16(benchmark::State& state, const vec16& out) {
  const vec16 x = input_bf16(out.size());
  std::vector<float> got(out.begin(), out.end());
  loom_bench::check(
      state,
      got,
      [&](std::size_t i) { return std::max(double(float(x.data()[i])), 0.0) * 2 + 10; },
      0x1p-8);
}

void loom_fused_bf16(benchmark::State& state, int threads) {
  const std::size_t n = size_of(state);
  const vec16 x = input_bf16(n);
  loom_bench::run_fused_on(
      state, model, {.bytes = 2 * n * sizeof(loom::bf16)}, threads, vec16(n), verify_bf16, x);
}

__attribute__((noinline)) void hand_bf16(const loom::bf16* __restrict x,
                                         loom::bf16* __restrict out,
                                         std::size_t n) {
#pragma omp simd
  for (std::size_t i = 0; i < n; ++i) {
    const float v = std::bit_cast<float>(std::uint32_t(x[i].bits) << 16);
    const std::uint32_t r = std::bit_cast<std::uint32_t>((v < 0.f ? 0.f : v) * 2.f + 10.f);
    out[i].bits = std::uint16_t((r + 0x7fffu + ((r >> 16) & 1u)) >> 16);
  }
}

void hand_loop_bf16(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const vec16 x = input_bf16(n);
  vec16 out(n);
  out.fill(loom::bf16(0.f));
  loom_bench::measure(
      state, 2 * n * sizeof(loom::bf16), [&] { hand_bf16(x.data(), out.data(), n); });
  verify_bf16(state, out);
}

[[maybe_unused]] const bool registered = [] {
  loom_bench::register_workload("W1_relu_chain",
                                {{"loom_fused", loom_fused},
                                 {"loom_fused_t1", loom_fused_t1},
                                 {"loom_eager", loom_eager},
                                 {"hand_loop", hand_loop},
                                 {"eigen_direct", eigen_direct},
                                 {"eager_temps", eager_temps}});
  loom_bench::register_copy_limits("W1_relu_chain", 2 * sizeof(float));
  loom_bench::register_workload("W1_relu_chain_bf16",
                                {{"loom_fused",
                                  [](benchmark::State& s) {
                                    loom_fused_bf16(s, 0);
                                  }},
                                 {"loom_fused_t1",
                                  [](benchmark::State& s) {
                                    loom_fused_bf16(s, 1);
                                  }},
                                 {"hand_loop", hand_loop_bf16}});
  loom_bench::register_copy_limits("W1_relu_chain_bf16", 2 * sizeof(loom::bf16));
  return true;
}();

}  // namespace
