#pragma once

#include <atomic>
#include <cstddef>

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

}  // namespace cpu
}  // namespace loom
