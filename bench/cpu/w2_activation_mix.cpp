// W2: tanh(a*b + c) * sigmoid(a - c) + 0.5 * exp(-b*b) over float32, three inputs, one output
// (BENCH.md).
//
// Eleven ops with three transcendental functions per element: compute-bound on one thread, so
// this measures the quality of loom's vectorised math (Eigen's packet tanh, logistic and exp)
// rather than memory traffic. The hand loop is written as a C++ programmer would, without
// -ffast-math: glibc then offers no vector tanhf/expf, so it calls the scalar ones for every
// element and is expected to be many times slower; it is shown because that is what the
// obvious loop costs. eigen_direct is the fair target. No libtorch variant: not installed.
#include "../harness.hpp"

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <functional>
#include <loom/loom.hpp>
#include <utility>
#include <vector>

namespace {

using loom_bench::vec;
using array = Eigen::Map<Eigen::ArrayXf, Eigen::Aligned64>;  // loom's buffers are 64-byte aligned
using const_array = Eigen::Map<const Eigen::ArrayXf, Eigen::Aligned64>;

const auto model = [](auto a, auto b, auto c) {
  return loom::tanh(a * b + c) * loom::sigmoid(a - c) + 0.5f * loom::exp(-b * b);
};

std::size_t size_of(const benchmark::State& state) {
  return static_cast<std::size_t>(state.range(0));
}
std::size_t ideal_bytes(std::size_t n) {
  return 4 * n * sizeof(float);
}  // 3 in, 1 out

struct inputs {
  const vec& a;
  const vec& b;
  const vec& c;
  explicit inputs(std::size_t n)
      : a(loom_bench::input(0, n)), b(loom_bench::input(1, n)), c(loom_bench::input(2, n)) {}
};

void verify(benchmark::State& state, const vec& out) {
  const inputs in(out.size());
  loom_bench::check(
      state,
      out,
      [&](std::size_t i) {
        const double a = in.a.data()[i], b = in.b.data()[i], c = in.c.data()[i];
        return std::tanh(a * b + c) / (1 + std::exp(c - a)) + 0.5 * std::exp(-b * b);
      },
      1e-5);
}

void loom_fused(benchmark::State& state) {
  loom_bench::run_fused<3>(state, model, 4 * sizeof(float), 0, verify);
}
void loom_fused_t1(benchmark::State& state) {
  loom_bench::run_fused<3>(state, model, 4 * sizeof(float), 1, verify);
}
void loom_eager(benchmark::State& state) {
  loom_bench::run_eager<3>(state, model, 4 * sizeof(float), verify);
}

__attribute__((noinline)) void hand(const float* __restrict a,
                                    const float* __restrict b,
                                    const float* __restrict c,
                                    float* __restrict out,
                                    std::size_t n) {
#pragma omp simd
  for (std::size_t i = 0; i < n; ++i) {
    const float sig = 1.f / (1.f + std::exp(c[i] - a[i]));
    out[i] = std::tanh(a[i] * b[i] + c[i]) * sig + 0.5f * std::exp(-b[i] * b[i]);
  }
}

void hand_loop(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const inputs x(n);
  vec out = loom_bench::output(n);
  loom_bench::measure(
      state, ideal_bytes(n), [&] { hand(x.a.data(), x.b.data(), x.c.data(), out.data(), n); });
  verify(state, out);
}

void eigen_direct(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const inputs x(n);
  vec out = loom_bench::output(n);
  const_array A(x.a.data(), n), B(x.b.data(), n), C(x.c.data(), n);
  array O(out.data(), n);
  loom_bench::measure(state, ideal_bytes(n), [&] {
    O = (A * B + C).tanh() * (A - C).logistic() + 0.5f * (-B * B).exp();
  });
  verify(state, out);
}

// One pass per op into preallocated temporaries, reused as soon as their value is dead (what
// a caching allocator gives an eager framework): three temporaries for eleven ops.
void eager_temps(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const inputs x(n);
  vec t0 = loom_bench::output(n), t1 = loom_bench::output(n), t2 = loom_bench::output(n);
  vec out = loom_bench::output(n);
  const_array A(x.a.data(), n), B(x.b.data(), n), C(x.c.data(), n);
  array T0(t0.data(), n), T1(t1.data(), n), T2(t2.data(), n), O(out.data(), n);
  loom_bench::measure(state, ideal_bytes(n), [&] {
    T0 = A * B;
    T1 = T0 + C;
    T0 = T1.tanh();
    T1 = A - C;
    T2 = T1.logistic();
    T1 = T0 * T2;  // tanh(...) * sigmoid(...)
    T0 = -B;
    T2 = T0 * B;
    T0 = T2.exp();
    T2 = 0.5f * T0;
    O = T1 + T2;
  });
  verify(state, out);
}

[[maybe_unused]] const bool registered = [] {
  loom_bench::register_workload("W2_activation_mix",
                                {{"loom_fused", loom_fused},
                                 {"loom_fused_t1", loom_fused_t1},
                                 {"loom_eager", loom_eager},
                                 {"hand_loop", hand_loop},
                                 {"eigen_direct", eigen_direct},
                                 {"eager_temps", eager_temps}});
  loom_bench::register_copy_limits("W2_activation_mix", 4 * sizeof(float));
  return true;
}();

}  // namespace
