#pragma once

// What every workload in bench/cpu/*.cpp shares, defined in bench/bench_cpu.cpp.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <functional>
#include <loom/loom.hpp>
#include <utility>
#include <vector>

namespace loom_bench {

using vec = loom::tensor<float, loom::extents<loom::dyn>>;
using variant = std::pair<const char*, void (*)(benchmark::State&)>;

// Registers `<workload>/<variant>/<size>` for both sizes of BENCH.md.
void register_workload(const char* workload, const std::vector<variant>& variants);
// Registers the workload's memcpy_limit and memcpy_limit_t1: a copy of its ideal bytes per
// call (`bytes_per_element` times the size), on loom_fused's threads and on one.
void register_copy_limits(const char* workload, std::size_t bytes_per_element);
const vec& input(int k, std::size_t n);
vec output(std::size_t n);
int loom_threads();
void measure(benchmark::State& state,
             std::size_t bytes_per_call,
             const std::function<void()>& call);
void check(benchmark::State& state,
           const vec& out,
           const std::function<double(std::size_t)>& reference,
           double tolerance);

// The loom variants of a workload whose model takes `Inputs` float vectors (inputs 0, 1, ...
// of input()): loom_fused (threads 0, loom's default) and loom_fused_t1 (threads 1) run the
// compiled model into a preallocated output; loom_eager calls the model on tensors. Each
// times one call with the workload's ideal bytes, then checks the result with `verify`.
template <std::size_t Inputs, class Model, class Verify>
void run_fused(benchmark::State& state,
               const Model& model,
               std::size_t bytes_per_element,
               int threads,
               Verify verify) {
  const auto n = static_cast<std::size_t>(state.range(0));
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    using spec = loom::input<float, loom::extents<loom::dyn>>;
    auto m = loom::compile(model, (static_cast<void>(K), spec{})...);
    static_assert(decltype(m)::kernel_count == 1);
    if (threads > 0) m.set_threads(threads);
    vec out = output(n);
    measure(state, bytes_per_element * n, [&] { m.run(out, input(K, n)...); });
    verify(state, out);
  }
  (std::make_index_sequence<Inputs>{});
}

// Each op materialises a new tensor from loom's buffer pool; the result is dropped at once,
// so the pool hands the same buffers back on the next call.
template <std::size_t Inputs, class Model, class Verify>
void run_eager(benchmark::State& state,
               const Model& model,
               std::size_t bytes_per_element,
               Verify verify) {
  const auto n = static_cast<std::size_t>(state.range(0));
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    measure(state, bytes_per_element * n, [&] {
      vec r = model(input(K, n)...);
      benchmark::DoNotOptimize(r.data());
    });
    verify(state, model(input(K, n)...));
  }
  (std::make_index_sequence<Inputs>{});
}

}  // namespace loom_bench
