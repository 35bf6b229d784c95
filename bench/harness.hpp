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

}  // namespace loom_bench
