// W3: the seed model of examples/seed_allow_in_graph.cpp: relu, then an element-wise callable
// loom must not trace into (allow_in_graph<custom_hook_function>), float32, one in, one out.
//
// The opaque node is fused into the same loop as relu and called once per lane; this checks
// that a user's black box costs nothing over writing the same code by hand (the compiler can
// still inline and vectorise it). The math equals W1's, so its numbers should match W1's.
// Peers call the same custom_hook_function (Eigen through unaryExpr). No libtorch variant: it
// is not installed here.
#include "../harness.hpp"

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>
#include <functional>
#include <loom/loom.hpp>
#include <utility>
#include <vector>

namespace {

using loom_bench::vec;
using array = Eigen::Map<Eigen::ArrayXf, Eigen::Aligned64>;  // loom's buffers are 64-byte aligned
using const_array = Eigen::Map<const Eigen::ArrayXf, Eigen::Aligned64>;

struct custom_hook_function {  // opaque: loom never traces into it
  float operator()(float x) const {
    float r = x * 2;
    r += 10;
    return r;
  }
};

const auto model = [](auto x) {
  auto y = loom::relu(x);                                  // traced
  return loom::allow_in_graph<custom_hook_function>{}(y);  // one opaque node
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

// The ternary, not std::max, which GCC 12 leaves scalar under `#pragma omp simd`.
__attribute__((noinline)) void hand(const float* __restrict x,
                                    float* __restrict out,
                                    std::size_t n) {
  const custom_hook_function hook;
#pragma omp simd
  for (std::size_t i = 0; i < n; ++i) out[i] = hook(x[i] < 0.f ? 0.f : x[i]);
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
  loom_bench::measure(
      state, ideal_bytes(n), [&] { O = X.max(0.f).unaryExpr(custom_hook_function{}); });
  verify(state, out);
}

void eager_temps(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const vec& x = loom_bench::input(0, n);
  vec t0 = loom_bench::output(n), out = loom_bench::output(n);
  const_array X(x.data(), n);
  array T0(t0.data(), n), O(out.data(), n);
  loom_bench::measure(state, ideal_bytes(n), [&] {
    T0 = X.max(0.f);
    O = T0.unaryExpr(custom_hook_function{});
  });
  verify(state, out);
}

[[maybe_unused]] const bool registered = [] {
  loom_bench::register_workload("W3_seed_allow_in_graph",
                                {{"loom_fused", loom_fused},
                                 {"loom_fused_t1", loom_fused_t1},
                                 {"loom_eager", loom_eager},
                                 {"hand_loop", hand_loop},
                                 {"eigen_direct", eigen_direct},
                                 {"eager_temps", eager_temps}});
  loom_bench::register_copy_limits("W3_seed_allow_in_graph", 2 * sizeof(float));
  return true;
}();

}  // namespace
