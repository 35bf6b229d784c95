#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace loom {

// Threads a fused CPU pass may use: all that OpenMP offers unless set (0 means "default").
inline std::atomic<int>& default_threads_setting() {
  static std::atomic<int> n{0};
  return n;
}

inline void set_num_threads(int n) {
  default_threads_setting() = n;
}

inline int num_threads() {
  const int n = default_threads_setting();
#ifdef _OPENMP
  return n > 0 ? n : omp_get_max_threads();
#else
  (void)n;
  return 1;
#endif
}

namespace cpu {

// Below this many elements a pass runs on one thread: waking a second one costs about a
// microsecond. Measured on W1 (relu(x) * 2 + 10, the cheapest pass per element), two threads
// against one: 1.42x the time at 2^13, 1.14x at 2^14, 0.83x at 2^15, 0.66x at 2^16 (Xeon,
// 2 vCPUs; docs/benchmarks.md). Costlier element functions only move the break-even lower.
inline constexpr std::size_t parallel_threshold = std::size_t(1) << 15;

// Runs `work(first, last)` over items [0, count): on one thread, or split over `threads`
// with OpenMP. An exception must not leave an OpenMP region (that terminates the program):
// the first one is kept, the remaining work is skipped, and it is rethrown on the caller.
// Built without OpenMP (no pragmas then, which -Wall would warn of), everything runs here.
template <class Work>
void for_items(std::size_t count, int threads, Work&& work) {
#ifdef _OPENMP
  if (threads > 1 && count > 1) {
    std::exception_ptr failure;
    std::atomic<bool> failed{false};
#pragma omp parallel for num_threads(threads) schedule(static)
    for (std::ptrdiff_t item = 0; item < std::ptrdiff_t(count); ++item) {
      if (failed.load(std::memory_order_relaxed)) continue;
      try {
        work(std::size_t(item), std::size_t(item) + 1);
      } catch (...) {
#pragma omp critical(loom_failure)
        if (!failed.exchange(true)) failure = std::current_exception();
      }
    }
    if (failure) std::rethrow_exception(failure);
    return;
  }
#else
  (void)threads;
#endif
  work(std::size_t(0), count);
}

// The threads a pass over `elements` elements uses: all it may from the threshold on, else one.
inline int threads_for(std::size_t elements, int threads) {
  return threads > 1 && elements >= parallel_threshold ? threads : 1;
}

// Runs `work(first_row, last_row)` over rows [0, rows) in one equal share per thread: the
// split of a reduction's or a GEMM's rows, fused or eager, so both fold the same rows together.
template <class Work>
void for_row_shares(std::size_t rows, int threads, Work&& work) {
  if (rows == 0) return;
  const std::size_t share = (rows + threads - 1) / threads;
  for_items((rows + share - 1) / share, threads, [&](std::size_t begin, std::size_t end) {
    for (std::size_t item = begin; item < end; ++item)
      work(item * share, std::min(rows, (item + 1) * share));
  });
}

}  // namespace cpu
}  // namespace loom
