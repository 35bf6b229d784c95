// W4: softmax over each row of a float32 matrix, 64x1024 and 4096x1024 (BENCH.md).
//
// A reduction (max), an element-wise exp, a second reduction (sum) and a broadcast divide:
// the first workload where a fused pass must carry per-row state between its loops. A row
// is 4 KiB and sits in L1 while it is worked on, so three passes over a row cost little and
// the whole matrix is read once from memory at 4096x1024 (16 MiB in, 16 MiB out); at
// 64x1024 everything is in L2 and the cost of exp shows. Peers: a hand-written loop per row,
// the same per row as an Eigen expression, op by op over the whole matrix into temporaries,
// and the copy of the same bytes. These peers run on one thread; libtorch's variant, on
// loom_fused's threads, is in libtorch_peers.cpp.
#include "../harness.hpp"

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <limits>
#include <loom/loom.hpp>
#include <span>
#include <vector>

namespace loom_bench {

void verify_softmax(benchmark::State& state, std::span<const float> out, matrix_size size) {
  const float* x = input(0, size.size()).data();
  std::size_t row = size.rows;
  std::vector<double> want(size.cols);
  check(
      state,
      out,
      [&](std::size_t i) {
        if (i / size.cols != row) {
          row = i / size.cols;
          const float* xr = x + row * size.cols;
          const double m = *std::max_element(xr, xr + size.cols);
          double sum = 0;
          for (std::size_t j = 0; j < size.cols; ++j) sum += want[j] = std::exp(xr[j] - m);
          for (double& w : want) w /= sum;
        }
        return want[i % size.cols];
      },
      1e-5);
}

}  // namespace loom_bench

namespace {

using loom_bench::matrix_size;
using rows_of_1024 = loom::extents<loom::dyn, 1024>;
using row = Eigen::Map<Eigen::ArrayXf, Eigen::Aligned64>;  // a row is 4 KiB: rows stay aligned
using const_row = Eigen::Map<const Eigen::ArrayXf, Eigen::Aligned64>;

const auto model = [](auto x) {
  return loom::softmax(x);
};

std::size_t ideal_bytes(matrix_size size) {
  return 2 * size.size() * sizeof(float);
}

const auto verify = [](benchmark::State& state, const auto& out) {
  loom_bench::verify_softmax(state, out, {out.extent(0), out.extent(1)});
};

void run_loom(benchmark::State& state, matrix_size size, int threads) {
  loom_bench::run_fused_on(state,
                           model,
                           {.bytes = ideal_bytes(size)},
                           threads,
                           loom_bench::output_tensor<rows_of_1024>(size.rows),
                           verify,
                           loom_bench::input_view<rows_of_1024>(0, size.rows));
}
void loom_fused(benchmark::State& state, matrix_size size) {
  run_loom(state, size, 0);
}
void loom_fused_t1(benchmark::State& state, matrix_size size) {
  run_loom(state, size, 1);
}
void loom_eager(benchmark::State& state, matrix_size size) {
  loom_bench::run_eager_on(state,
                           model,
                           {.bytes = ideal_bytes(size)},
                           verify,
                           loom_bench::input_view<rows_of_1024>(0, size.rows));
}

// exp(x) for x <= 0, as 2^k * p(r) with k = round(x / ln 2), r = x - k ln 2 (Cody-Waite, two
// constants) and p Cephes' polynomial for expf. Float and int arithmetic only, so that it
// vectorises under `omp simd`: glibc offers no vector expf without -ffast-math.
inline float exp_nonpositive(float x) {
  x = x < -87.f ? -87.f : x;                 // keeps 2^k a normal float; exp(-87) is 1.6e-38
  constexpr float round_shift = 12582912.f;  // 1.5 * 2^23: adding it rounds to an integer
  const float shifted = std::fma(x, 1.44269504f, round_shift);
  const float k = shifted - round_shift;
  const int ki = std::bit_cast<int>(shifted) - std::bit_cast<int>(round_shift);
  float r = std::fma(k, -0.693359375f, x);
  r = std::fma(k, 2.12194440e-4f, r);
  float p = 1.9875691500e-4f;
  p = std::fma(p, r, 1.3981999507e-3f);
  p = std::fma(p, r, 8.3334519073e-3f);
  p = std::fma(p, r, 4.1665795894e-2f);
  p = std::fma(p, r, 1.6666665459e-1f);
  p = std::fma(p, r, 5.0000001201e-1f);
  p = std::fma(p, r * r, r) + 1.f;
  return p * std::bit_cast<float>((ki + 127) << 23);
}

// The maximum of a row, in 64 partial maxima (four AVX-512 vectors) updated independently:
// an `omp simd` max reduction keeps one vector and waits on each max's latency, and Eigen's
// maxCoeff keeps two. The ternary, not std::max, which GCC 12 leaves scalar.
float row_max(const float* __restrict x, std::size_t n) {
  constexpr std::size_t lanes = 64;
  float partial[lanes];
  std::fill(partial, partial + lanes, -std::numeric_limits<float>::infinity());
  std::size_t j = 0;
  for (; j + lanes <= n; j += lanes)
#pragma omp simd
    for (std::size_t l = 0; l < lanes; ++l)
      partial[l] = partial[l] < x[j + l] ? x[j + l] : partial[l];
  // Combined with vector maxima too: 64 scalar ones in a chain cost as much as the pass.
  float m = -std::numeric_limits<float>::infinity();
  for (; j < n; ++j) m = m < x[j] ? x[j] : m;
#pragma omp simd reduction(max : m)
  for (std::size_t l = 0; l < lanes; ++l) m = m < partial[l] ? partial[l] : m;
  return m;
}

// Three passes per row, while it sits in L1: the maximum, exp and its sum in one loop, then
// the scale. An online softmax would read the row once but costs more exp.
__attribute__((noinline)) void hand(const float* __restrict x,
                                    float* __restrict out,
                                    matrix_size size) {
  const std::size_t n = size.cols;
  for (std::size_t r = 0; r < size.rows; ++r) {
    const float* xr = x + r * n;
    float* o = out + r * n;
    const float m = row_max(xr, n);
    float sum = 0.f;
#pragma omp simd reduction(+ : sum)
    for (std::size_t j = 0; j < n; ++j) {
      const float e = exp_nonpositive(xr[j] - m);
      o[j] = e;
      sum += e;
    }
    const float inv = 1.f / sum;
#pragma omp simd
    for (std::size_t j = 0; j < n; ++j) o[j] *= inv;
  }
}

void hand_loop(benchmark::State& state, matrix_size size) {
  const float* x = loom_bench::input(0, size.size()).data();
  loom_bench::vec out = loom_bench::output(size.size());
  loom_bench::measure(state, ideal_bytes(size), [&] { hand(x, out.data(), size); });
  loom_bench::verify_softmax(state, out, size);
}

// Per row, since a whole-matrix broadcast (`.colwise()` on row-major data) is not vectorised.
void eigen_direct(benchmark::State& state, matrix_size size) {
  const float* x = loom_bench::input(0, size.size()).data();
  loom_bench::vec out = loom_bench::output(size.size());
  const auto n = static_cast<Eigen::Index>(size.cols);
  loom_bench::measure(state, ideal_bytes(size), [&] {
    for (std::size_t r = 0; r < size.rows; ++r) {
      const const_row X(x + r * size.cols, n);
      row O(out.data() + r * size.cols, n);
      O = (X - X.maxCoeff()).exp();
      O *= 1.f / O.sum();
    }
  });
  loom_bench::verify_softmax(state, out, size);
}

// What an eager framework runs: max, subtract, exp, sum, divide, each a pass over the whole
// matrix into a preallocated temporary (a broadcast op is a loop over rows).
void eager_temps(benchmark::State& state, matrix_size size) {
  const float* x = loom_bench::input(0, size.size()).data();
  loom_bench::vec t0 = loom_bench::output(size.size()), t1 = loom_bench::output(size.size());
  loom_bench::vec out = loom_bench::output(size.size());
  Eigen::ArrayXf per_row(static_cast<Eigen::Index>(size.rows));
  const auto n = static_cast<Eigen::Index>(size.cols);
  auto rows = [&](auto&& op) {
    for (std::size_t r = 0; r < size.rows; ++r) op(r, r * size.cols);
  };
  loom_bench::measure(state, ideal_bytes(size), [&] {
    rows([&](std::size_t r, std::size_t at) { per_row[r] = const_row(x + at, n).maxCoeff(); });
    rows([&](std::size_t r, std::size_t at) {
      row(t0.data() + at, n) = const_row(x + at, n) - per_row[r];
    });
    row(t1.data(), t1.size()) = const_row(t0.data(), t0.size()).exp();
    rows([&](std::size_t r, std::size_t at) { per_row[r] = const_row(t1.data() + at, n).sum(); });
    rows([&](std::size_t r, std::size_t at) {
      row(out.data() + at, n) = const_row(t1.data() + at, n) / per_row[r];
    });
  });
  loom_bench::verify_softmax(state, out, size);
}

[[maybe_unused]] const bool registered = [] {
  loom_bench::register_workload("W4_softmax",
                                loom_bench::row_sizes,
                                {{"loom_fused", loom_fused},
                                 {"loom_fused_t1", loom_fused_t1},
                                 {"loom_eager", loom_eager},
                                 {"hand_loop", hand_loop},
                                 {"eigen_direct", eigen_direct},
                                 {"eager_temps", eager_temps}});
  loom_bench::register_copy_limits("W4_softmax", loom_bench::row_sizes, ideal_bytes);
  return true;
}();

}  // namespace
