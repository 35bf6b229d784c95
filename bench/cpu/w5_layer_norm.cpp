// W5: layer norm over each row of a float32 matrix, with gamma and beta over the row and
// eps 1e-5, 64x1024 and 4096x1024 (BENCH.md). Biased variance, as
// torch.nn.functional.layer_norm.
//
// Two reductions per row (mean, then variance), an rsqrt per row and an element-wise
// epilogue that reads two broadcast vectors: memory-bound at 4096x1024 (16 MiB in, 16 MiB
// out), bound by the passes over a row in L1/L2 at 64x1024. Peers: a hand-written loop per
// row, the same per row as an Eigen expression, op by op over the whole matrix into
// temporaries (the ops a framework decomposes layer norm into), and the copy of the same
// bytes. These peers run on one thread; libtorch's variant, on loom_fused's threads, is in
// libtorch_peers.cpp.
#include "../harness.hpp"

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <loom/loom.hpp>
#include <span>
#include <vector>

namespace {

constexpr float eps = 1e-5f;

}  // namespace

namespace loom_bench {

// gamma and beta are inputs 1 and 2; a row of the matrix, input 0.
void verify_layer_norm(benchmark::State& state, std::span<const float> out, matrix_size size) {
  const float* x = input(0, size.size()).data();
  const float* gamma = input(1, size.cols).data();
  const float* beta = input(2, size.cols).data();
  std::size_t row = size.rows;
  double mean = 0, rstd = 0;
  check(
      state,
      out,
      [&](std::size_t i) {
        const float* xr = x + i / size.cols * size.cols;
        if (i / size.cols != row) {
          row = i / size.cols;
          double sum = 0, squares = 0;
          for (std::size_t j = 0; j < size.cols; ++j) sum += xr[j];
          mean = sum / double(size.cols);
          for (std::size_t j = 0; j < size.cols; ++j) squares += (xr[j] - mean) * (xr[j] - mean);
          rstd = 1 / std::sqrt(squares / double(size.cols) + double(eps));
        }
        const std::size_t j = i % size.cols;
        return (xr[j] - mean) * rstd * gamma[j] + beta[j];
      },
      1e-5);
}

}  // namespace loom_bench

namespace {

using loom_bench::matrix_size;
using rows_of_1024 = loom::extents<loom::dyn, 1024>;
using row = Eigen::Map<Eigen::ArrayXf, Eigen::Aligned64>;  // a row is 4 KiB: rows stay aligned
using const_row = Eigen::Map<const Eigen::ArrayXf, Eigen::Aligned64>;

const auto model = [](auto x, auto g, auto b) {
  return loom::layer_norm(x, g, b, eps);
};

// The matrix in and out, gamma and beta in.
std::size_t ideal_bytes(matrix_size size) {
  return (2 * size.size() + 2 * size.cols) * sizeof(float);
}

// The matrix, gamma and beta (inputs 0, 1, 2) of the workload's size.
struct inputs {
  const float* x;
  const float* gamma;
  const float* beta;
  explicit inputs(matrix_size size)
      : x(loom_bench::input(0, size.size()).data()),
        gamma(loom_bench::input(1, size.cols).data()),
        beta(loom_bench::input(2, size.cols).data()) {}
};

const auto verify = [](benchmark::State& state, const auto& out) {
  loom_bench::verify_layer_norm(state, out, {out.extent(0), out.extent(1)});
};

void run_loom(benchmark::State& state, matrix_size size, int threads) {
  loom_bench::run_fused_on(state,
                           model,
                           {.bytes = ideal_bytes(size)},
                           threads,
                           loom_bench::output_tensor<rows_of_1024>(size.rows),
                           verify,
                           loom_bench::input_view<rows_of_1024>(0, size.rows),
                           loom_bench::input_view<loom::extents<1024>>(1),
                           loom_bench::input_view<loom::extents<1024>>(2));
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
                           loom_bench::input_view<rows_of_1024>(0, size.rows),
                           loom_bench::input_view<loom::extents<1024>>(1),
                           loom_bench::input_view<loom::extents<1024>>(2));
}

// The sum of f(x[j]) over a row, in 64 partial sums (four AVX-512 vectors) updated
// independently: an `omp simd` reduction keeps one vector and waits on each add's latency,
// which made the hand loop 1.4x slower at 64x1024.
template <class F>
float row_sum(const float* __restrict x, std::size_t n, F f) {
  constexpr std::size_t lanes = 64;
  float partial[lanes] = {};
  std::size_t j = 0;
  for (; j + lanes <= n; j += lanes)
#pragma omp simd
    for (std::size_t l = 0; l < lanes; ++l) partial[l] += f(x[j + l]);
  // Combined with vector adds too: 64 scalar ones in a chain cost as much as the pass.
  float sum = 0.f;
  for (; j < n; ++j) sum += f(x[j]);
#pragma omp simd reduction(+ : sum)
  for (std::size_t l = 0; l < lanes; ++l) sum += partial[l];
  return sum;
}

// Per row, while it sits in L1: the sum, the sum of squared deviations from the mean (two
// passes: one pass of sum and sum of squares loses the variance to cancellation when the
// mean is large against the spread), then the epilogue.
__attribute__((noinline)) void hand(const inputs& in, float* __restrict out, matrix_size size) {
  const std::size_t n = size.cols;
  const float* __restrict gamma = in.gamma;
  const float* __restrict beta = in.beta;
  for (std::size_t r = 0; r < size.rows; ++r) {
    const float* __restrict xr = in.x + r * n;
    float* __restrict o = out + r * n;
    const float mean = row_sum(xr, n, [](float v) { return v; }) / float(n);
    const float squares = row_sum(xr, n, [mean](float v) { return (v - mean) * (v - mean); });
    const float rstd = 1.f / std::sqrt(squares / float(n) + eps);
#pragma omp simd
    for (std::size_t j = 0; j < n; ++j) o[j] = (xr[j] - mean) * rstd * gamma[j] + beta[j];
  }
}

void hand_loop(benchmark::State& state, matrix_size size) {
  const inputs in(size);
  loom_bench::vec out = loom_bench::output(size.size());
  loom_bench::measure(state, ideal_bytes(size), [&] { hand(in, out.data(), size); });
  loom_bench::verify_layer_norm(state, out, size);
}

// Per row, since a whole-matrix broadcast (`.colwise()` on row-major data) is not vectorised.
void eigen_direct(benchmark::State& state, matrix_size size) {
  const inputs in(size);
  loom_bench::vec out = loom_bench::output(size.size());
  const auto n = static_cast<Eigen::Index>(size.cols);
  const const_row G(in.gamma, n), B(in.beta, n);
  loom_bench::measure(state, ideal_bytes(size), [&] {
    for (std::size_t r = 0; r < size.rows; ++r) {
      const const_row X(in.x + r * size.cols, n);
      const float mean = X.mean();
      const float var = (X - mean).square().mean();
      row(out.data() + r * size.cols, n) = (X - mean) * (1.f / std::sqrt(var + eps)) * G + B;
    }
  });
  loom_bench::verify_layer_norm(state, out, size);
}

// What an eager framework runs: mean, subtract, square, mean, add eps and rsqrt (on one value
// per row), scale, times gamma, plus beta, each a pass into a preallocated temporary (a
// broadcast op is a loop over rows).
void eager_temps(benchmark::State& state, matrix_size size) {
  const inputs in(size);
  loom_bench::vec t0 = loom_bench::output(size.size()), t1 = loom_bench::output(size.size());
  loom_bench::vec out = loom_bench::output(size.size());
  Eigen::ArrayXf mean(static_cast<Eigen::Index>(size.rows)), rstd(mean.size());
  const auto n = static_cast<Eigen::Index>(size.cols);
  const auto all = static_cast<Eigen::Index>(size.size());
  const const_row G(in.gamma, n), B(in.beta, n);
  auto rows = [&](auto&& op) {
    for (std::size_t r = 0; r < size.rows; ++r) op(static_cast<Eigen::Index>(r), r * size.cols);
  };
  loom_bench::measure(state, ideal_bytes(size), [&] {
    rows([&](Eigen::Index r, std::size_t at) { mean[r] = const_row(in.x + at, n).mean(); });
    rows([&](Eigen::Index r, std::size_t at) {
      row(t0.data() + at, n) = const_row(in.x + at, n) - mean[r];
    });
    row(t1.data(), all) = const_row(t0.data(), all).square();
    rows([&](Eigen::Index r, std::size_t at) { rstd[r] = const_row(t1.data() + at, n).mean(); });
    rstd = (rstd + eps).rsqrt();
    rows([&](Eigen::Index r, std::size_t at) {
      row(t1.data() + at, n) = const_row(t0.data() + at, n) * rstd[r];
    });
    rows([&](Eigen::Index, std::size_t at) {
      row(t0.data() + at, n) = const_row(t1.data() + at, n) * G;
    });
    rows([&](Eigen::Index, std::size_t at) {
      row(out.data() + at, n) = const_row(t0.data() + at, n) + B;
    });
  });
  loom_bench::verify_layer_norm(state, out, size);
}

[[maybe_unused]] const bool registered = [] {
  loom_bench::register_workload("W5_layer_norm",
                                loom_bench::row_sizes,
                                {{"loom_fused", loom_fused},
                                 {"loom_fused_t1", loom_fused_t1},
                                 {"loom_eager", loom_eager},
                                 {"hand_loop", hand_loop},
                                 {"eigen_direct", eigen_direct},
                                 {"eager_temps", eager_temps}});
  loom_bench::register_copy_limits("W5_layer_norm", loom_bench::row_sizes, ideal_bytes);
  return true;
}();

}  // namespace
