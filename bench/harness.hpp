#pragma once

// What every workload in bench/cpu/*.cpp shares, defined in bench/bench_cpu.cpp.
#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <functional>
#include <loom/loom.hpp>
#include <span>
#include <utility>
#include <vector>

namespace loom_bench {

using vec = loom::tensor<float, loom::extents<loom::dyn>>;
using variant = std::pair<const char*, void (*)(benchmark::State&)>;

// The work of one call, for the throughput Google Benchmark reports: the ideal bytes
// (bytes_per_second) of a memory-bound workload, or the items (items_per_second; FLOPs for
// W6) of a compute-bound one. Zero means not reported.
struct per_call {
  std::size_t bytes = 0;
  std::size_t items = 0;
};

// Registers `<workload>/<variant>/<size>` for both sizes of BENCH.md.
void register_workload(const char* workload, const std::vector<variant>& variants);
// Registers the workload's memcpy_limit and memcpy_limit_t1: a copy of its ideal bytes per
// call (`bytes_per_element` times the size), on loom_fused's threads and on one.
void register_copy_limits(const char* workload, std::size_t bytes_per_element);
const vec& input(int k, std::size_t n);
vec output(std::size_t n);
int loom_threads();
void measure(benchmark::State& state, per_call work, const std::function<void()>& call);
inline void measure(benchmark::State& state,
                    std::size_t bytes_per_call,
                    const std::function<void()>& call) {
  measure(state, per_call{.bytes = bytes_per_call}, call);
}
void check(benchmark::State& state,
           std::span<const float> out,
           const std::function<double(std::size_t)>& reference,
           double tolerance);

// Workloads over the rows of a matrix (W4-W6). Their size is named `<rows>x<cols>` (e.g.
// `W4_softmax/loom_fused/4096x1024`), so that the name keeps its three parts.
struct matrix_size {
  std::size_t rows, cols;
  std::size_t size() const { return rows * cols; }
};
using matrix_variant = std::pair<const char*, void (*)(benchmark::State&, matrix_size)>;
// BENCH.md's sizes: W4 and W5 over 64 and 4096 rows of 1024; W6's X (its W is 1024x1024).
inline constexpr std::array<matrix_size, 2> row_sizes{{{64, 1024}, {4096, 1024}}};
inline constexpr std::array<matrix_size, 1> mlp_sizes{{{512, 1024}}};
void register_workload(const char* workload,
                       std::span<const matrix_size> sizes,
                       const std::vector<matrix_variant>& variants);
// memcpy_limit and memcpy_limit_t1 of a matrix workload, whose ideal bytes per call
// `ideal_bytes` gives.
void register_copy_limits(const char* workload,
                          std::span<const matrix_size> sizes,
                          std::size_t (*ideal_bytes)(matrix_size));

// Input `k` (the same numbers input(k, n) holds) seen as a tensor with extents E, given its
// dynamic extents, so that loom and the peers read the same memory.
template <loom::extents_type E, class... I>
loom::tensor_view<const float, E> input_view(int k, I... dynamic_extents) {
  const loom::tensor_view<const float, E> shape_only(nullptr, dynamic_extents...);
  return {input(k, shape_only.size()).data(), shape_only.shape()};
}

// An output or temporary buffer with extents E and every page already written.
template <loom::extents_type E, class... I>
loom::tensor<float, E> output_tensor(I... dynamic_extents) {
  loom::tensor<float, E> t(dynamic_extents...);
  t.fill(0.f);
  return t;
}

// The checks of W4-W6, in their files; libtorch_peers.cpp checks its results with them too.
void verify_softmax(benchmark::State& state, std::span<const float> out, matrix_size size);
void verify_layer_norm(benchmark::State& state, std::span<const float> out, matrix_size size);
void verify_mlp_layer(benchmark::State& state, std::span<const float> out, matrix_size size);

// The loom variants of a workload, on `inputs` (tensors or views, whose dtypes and extents
// are what the model is compiled for): loom_fused (threads 0, loom's default) and
// loom_fused_t1 (threads 1) run the compiled model into `out`, allocated before timing.
// Each times one call, then checks the result with `verify`.
template <class Model, class Out, class Verify, class... Inputs>
void run_fused_on(benchmark::State& state,
                  const Model& model,
                  per_call work,
                  int threads,
                  Out out,
                  Verify verify,
                  const Inputs&... inputs) {
  auto m = loom::compile(model, inputs...);
  static_assert(decltype(m)::kernel_count == 1);
  if (threads > 0) m.set_threads(threads);
  measure(state, work, [&] { m.run(out, inputs...); });
  verify(state, out);
}

// loom_eager: the model called on tensors. Each op materialises a new tensor from loom's
// buffer pool; the result is dropped at once, so the pool hands the same buffers back on the
// next call.
template <class Model, class Verify, class... Inputs>
void run_eager_on(benchmark::State& state,
                  const Model& model,
                  per_call work,
                  Verify verify,
                  const Inputs&... inputs) {
  measure(state, work, [&] {
    auto r = model(inputs...);
    benchmark::DoNotOptimize(r.data());
  });
  verify(state, model(inputs...));
}

// run_fused_on for a model of `Inputs` float vectors of the workload's size (inputs 0, 1, ...
// of input()), with `bytes_per_element` ideal bytes per element.
template <std::size_t Inputs, class Model, class Verify>
void run_fused(benchmark::State& state,
               const Model& model,
               std::size_t bytes_per_element,
               int threads,
               Verify verify) {
  const auto n = static_cast<std::size_t>(state.range(0));
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    run_fused_on(state,
                 model,
                 per_call{.bytes = bytes_per_element * n},
                 threads,
                 output(n),
                 verify,
                 input(K, n)...);
  }
  (std::make_index_sequence<Inputs>{});
}

template <std::size_t Inputs, class Model, class Verify>
void run_eager(benchmark::State& state,
               const Model& model,
               std::size_t bytes_per_element,
               Verify verify) {
  const auto n = static_cast<std::size_t>(state.range(0));
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    run_eager_on(state, model, per_call{.bytes = bytes_per_element * n}, verify, input(K, n)...);
  }
  (std::make_index_sequence<Inputs>{});
}

}  // namespace loom_bench
