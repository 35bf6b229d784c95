// loom's CPU benchmarks: main, and what every workload in bench/cpu/*.cpp shares.
//
// The workloads and variant names are those of /work/shared/BENCH.md; results and the
// command that reproduces them are in docs/benchmarks.md. Every variant of a workload runs in
// this one binary, in one run, so that ratios between them hold on a noisy, shared machine.
//
// What is timed is one call on buffers that were allocated and written before timing:
// memory fresh from the OS costs a page fault per 4 KiB, which would be five times the work
// itself. Inputs are random (not zeros) and cached across variants, so each variant reads
// the same data and the generator runs once. Throughput is reported as the ideal bytes of a
// call (each input read once, each output written once), so a variant that makes extra
// passes over memory shows it as lower bytes/s; a compute-bound workload (W6) reports FLOPs
// as items/s instead. Wall-clock time is used throughout, since the loom_fused and
// memcpy_limit variants run on several OpenMP threads.
//
// The helpers are declared in bench/harness.hpp.
#include "harness.hpp"

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <functional>
#include <loom/loom.hpp>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <sys/resource.h>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace loom_bench {

void copy_limit(benchmark::State& state, std::size_t bytes_per_call, int threads);

// The two sizes of BENCH.md: 2^16 floats (256 KiB, cache-resident) and 2^24 (64 MiB, memory).
void register_at_sizes(benchmark::internal::Benchmark* b) {
  b->Arg(std::int64_t(1) << 16)->Arg(std::int64_t(1) << 24)->UseRealTime();
}

void register_workload(const char* workload, const std::vector<variant>& variants) {
  for (const auto& [name, fn] : variants)
    register_at_sizes(
        benchmark::RegisterBenchmark((std::string(workload) + "/" + name).c_str(), fn));
}

void register_copy_limits(const char* workload, std::size_t bytes_per_element) {
  const std::string prefix = std::string(workload) + "/";
  for (const int threads : {0, 1})
    register_at_sizes(benchmark::RegisterBenchmark(
        (prefix + (threads ? "memcpy_limit_t1" : "memcpy_limit")).c_str(),
        [bytes_per_element, threads](benchmark::State& state) {
          copy_limit(state,
                     bytes_per_element * static_cast<std::size_t>(state.range(0)),
                     threads ? threads : loom_threads());
        }));
}

// The size goes into the name rather than into Google Benchmark's arguments, which would
// append `/<rows>/<cols>` and give the name four parts.
void register_workload(const char* workload,
                       std::span<const matrix_size> sizes,
                       const std::vector<matrix_variant>& variants) {
  for (const auto& [name, fn] : variants)
    for (const matrix_size size : sizes)
      benchmark::RegisterBenchmark((std::string(workload) + "/" + name + "/" +
                                    std::to_string(size.rows) + "x" + std::to_string(size.cols))
                                       .c_str(),
                                   [fn = fn, size](benchmark::State& state) { fn(state, size); })
          ->UseRealTime();
}

void register_copy_limits(const char* workload,
                          std::span<const matrix_size> sizes,
                          std::size_t (*ideal_bytes)(matrix_size)) {
  for (const int threads : {0, 1})
    for (const matrix_size size : sizes)
      benchmark::RegisterBenchmark(
          (std::string(workload) + (threads ? "/memcpy_limit_t1/" : "/memcpy_limit/") +
           std::to_string(size.rows) + "x" + std::to_string(size.cols))
              .c_str(),
          [bytes = ideal_bytes(size), threads](benchmark::State& state) {
            copy_limit(state, bytes, threads ? threads : loom_threads());
          })
          ->UseRealTime();
}

// Input `k` of `n` floats, normally distributed (half of them negative, so relu has work),
// generated once per (k, n) and shared by every variant.
const vec& input(int k, std::size_t n) {
  static std::map<std::pair<int, std::size_t>, std::unique_ptr<vec>> cache;
  auto& slot = cache[{k, n}];
  if (!slot) {
    slot = std::make_unique<vec>(n);
    std::mt19937 rng(1234u + 7919u * static_cast<unsigned>(k));
    std::normal_distribution<float> normal;
    for (float& v : *slot) v = normal(rng);
  }
  return *slot;
}

// An output or temporary buffer with every page already written.
vec output(std::size_t n) {
  vec v(n);
  std::fill(v.begin(), v.end(), 0.f);
  return v;
}

// The threads loom_fused runs on (OpenMP's default unless loom::set_num_threads says else).
int loom_threads() {
  return loom::num_threads();
}

// Times `call`: one untimed call first (first-touch, lazy setup), then the timed loop.
// Also counts the process's involuntary context switches per second of the loop
// (`preempted`): on a shared machine a high count marks a measurement that another
// process's work disturbed (a descheduled OpenMP thread stalls the whole parallel pass).
void measure(benchmark::State& state, per_call work, const std::function<void()>& call) {
  call();
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  for (auto _ : state) {
    call();
    benchmark::ClobberMemory();
  }
  getrusage(RUSAGE_SELF, &after);
  if (work.bytes)
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(work.bytes));
  if (work.items)
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(work.items));
  state.counters["preempted"] = benchmark::Counter(
      static_cast<double>(after.ru_nivcsw - before.ru_nivcsw), benchmark::Counter::kIsRate);
}

// Compares a strided sample of `out` (about 4096 elements, and the last one, which a scalar
// tail computes) against `reference`, a double-precision definition of the workload; a
// benchmark that computes the wrong thing is reported as an error, not as a number.
void check(benchmark::State& state,
           std::span<const float> out,
           const std::function<double(std::size_t)>& reference,
           double tolerance) {
  const std::size_t n = out.size();
  const std::size_t stride = std::max<std::size_t>(1, n / 4096) | 1;
  auto bad = [&](std::size_t i) {
    const double want = reference(i);
    return !(std::abs(double(out[i]) - want) <= tolerance * (1 + std::abs(want)));
  };
  for (std::size_t i = 0; i < n; i += stride)
    if (bad(i)) {
      state.SkipWithError(("wrong result at " + std::to_string(i)).c_str());
      return;
    }
  if (n > 0 && bad(n - 1)) state.SkipWithError("wrong result at the last element");
}

// The memory-bandwidth limit: a copy whose reads plus writes are `bytes_per_call` (the same
// ideal bytes as the workload it stands beside), one contiguous range per thread, on
// `threads` OpenMP threads from the same pool loom uses. Each range is copied by memcpy in
// 256 KiB pieces: glibc switches a single large memcpy to non-temporal (cache-bypassing)
// stores above a threshold derived from the cache size (here somewhere between 64 and
// 128 MiB), so whole-range copies measured ordinary stores for W1 and streaming stores for
// W2. Pieces keep every copy on ordinary stores, the kind loom, Eigen and the hand loops
// write with, so the limit means the same thing for every workload and size.
void copy_limit(benchmark::State& state, std::size_t bytes_per_call, int threads) {
  const std::size_t floats = bytes_per_call / 2 / sizeof(float);
  const vec& src = input(0, floats);
  vec dst = output(floats);
  const auto* from = reinterpret_cast<const unsigned char*>(src.data());
  auto* to = reinterpret_cast<unsigned char*>(dst.data());
  const std::size_t bytes = floats * sizeof(float);
  constexpr std::size_t piece = std::size_t(256) << 10;
  auto copy = [&](std::size_t begin, std::size_t end) {
    for (std::size_t at = begin; at < end; at += piece)
      std::memcpy(to + at, from + at, std::min(piece, end - at));
  };
  measure(state, bytes_per_call, [&] {
    if (threads <= 1) {
      copy(0, bytes);
      return;
    }
#pragma omp parallel num_threads(threads)
    {
#ifdef _OPENMP
      const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
      const std::size_t count = static_cast<std::size_t>(omp_get_num_threads());
#else
      const std::size_t t = 0, count = 1;
#endif
      // Chunk borders on 64-byte lines, so that two threads never write the same line.
      auto border = [&](std::size_t i) {
        return std::min(bytes, (bytes * i / count + 63) / 64 * 64);
      };
      copy(border(t), border(t + 1));
    }
  });
  if (std::memcmp(to, from, bytes) != 0) state.SkipWithError("copy differs");
}

}  // namespace loom_bench

BENCHMARK_MAIN();
