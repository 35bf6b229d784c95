// W6: one MLP layer, relu(X W + b), X 512x1024, W 1024x1024, b 1024, float32 (BENCH.md).
//
// A GEMM of 1.07 GFLOP with an element-wise epilogue over a 2 MiB result: bound by the
// GEMM's arithmetic, so throughput is reported as FLOPs (2 M K N) per second, and the
// yardstick is gemm_only, Eigen's GEMM alone: the bias and relu should add next to nothing.
// Eigen splits a GEMM over OpenMP threads by itself, so each Eigen peer runs twice: on
// loom_fused's threads (eigen_direct, gemm_only, eager_temps) and on one (the _t1 names),
// against loom_fused_t1. libtorch's variant is in libtorch_peers.cpp.
#include "../harness.hpp"

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>
#include <loom/loom.hpp>
#include <span>
#include <vector>

namespace loom_bench {

// X, W and b are inputs 0, 1 and 2.
void verify_mlp_layer(benchmark::State& state, std::span<const float> out, matrix_size size) {
  const std::size_t k = size.cols, n = size.cols;
  const float* x = input(0, size.rows * k).data();
  const float* w = input(1, k * n).data();
  const float* b = input(2, n).data();
  check(
      state,
      out,
      [&](std::size_t i) {
        const std::size_t row = i / n, col = i % n;
        double y = b[col];
        for (std::size_t j = 0; j < k; ++j) y += double(x[row * k + j]) * w[j * n + col];
        return std::max(y, 0.0);
      },
      1e-4);
}

}  // namespace loom_bench

namespace {

using loom_bench::matrix_size;
using rows_of_1024 = loom::extents<loom::dyn, 1024>;
using matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using matrix_map = Eigen::Map<matrix, Eigen::Aligned64>;
using const_matrix_map = Eigen::Map<const matrix, Eigen::Aligned64>;
using const_row_vector = Eigen::Map<const Eigen::RowVectorXf, Eigen::Aligned64>;

const auto model = [](auto X, auto W, auto b) {
  return loom::relu(loom::matmul(X, W) + b);
};

std::size_t flops(matrix_size size) {
  return 2 * size.rows * size.cols * size.cols;
}

const auto verify = [](benchmark::State& state, const auto& out) {
  loom_bench::verify_mlp_layer(state, out, {out.extent(0), out.extent(1)});
};

void run_loom(benchmark::State& state, matrix_size size, int threads) {
  loom_bench::run_fused_on(state,
                           model,
                           {.items = flops(size)},
                           threads,
                           loom_bench::output_tensor<rows_of_1024>(size.rows),
                           verify,
                           loom_bench::input_view<rows_of_1024>(0, size.rows),
                           loom_bench::input_view<loom::extents<1024, 1024>>(1),
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
                           {.items = flops(size)},
                           verify,
                           loom_bench::input_view<rows_of_1024>(0, size.rows),
                           loom_bench::input_view<loom::extents<1024, 1024>>(1),
                           loom_bench::input_view<loom::extents<1024>>(2));
}

// X, W and b (inputs 0, 1, 2) as Eigen maps, and a preallocated output.
struct operands {
  const_matrix_map X, W;
  const_row_vector b;
  loom_bench::vec out;
  matrix_map Y;
  explicit operands(matrix_size size)
      : X(loom_bench::input(0, size.size()).data(), index(size.rows), index(size.cols)),
        W(loom_bench::input(1, size.cols * size.cols).data(), index(size.cols), index(size.cols)),
        b(loom_bench::input(2, size.cols).data(), index(size.cols)),
        out(loom_bench::output(size.size())),
        Y(out.data(), index(size.rows), index(size.cols)) {}
  static Eigen::Index index(std::size_t n) { return static_cast<Eigen::Index>(n); }
};

// Eigen's thread count for one benchmark; 0 (on exit) gives it back to OpenMP's default.
struct eigen_threads {
  explicit eigen_threads(int n) { Eigen::setNbThreads(n); }
  ~eigen_threads() { Eigen::setNbThreads(0); }
  eigen_threads(const eigen_threads&) = delete;
  eigen_threads& operator=(const eigen_threads&) = delete;
};

// The GEMM into the output, then bias and relu in place over it while it is in L2.
void eigen(benchmark::State& state, matrix_size size, int threads) {
  const eigen_threads use(threads);
  operands m(size);
  loom_bench::measure(state, {.items = flops(size)}, [&] {
    m.Y.noalias() = m.X * m.W;
    m.Y = (m.Y.rowwise() + m.b).cwiseMax(0.f);
  });
  loom_bench::verify_mlp_layer(state, m.out, size);
}
void eigen_direct(benchmark::State& state, matrix_size size) {
  eigen(state, size, loom_bench::loom_threads());
}
void eigen_direct_t1(benchmark::State& state, matrix_size size) {
  eigen(state, size, 1);
}

// No check: the result is X W, without bias and relu.
void gemm(benchmark::State& state, matrix_size size, int threads) {
  const eigen_threads use(threads);
  operands m(size);
  loom_bench::measure(state, {.items = flops(size)}, [&] { m.Y.noalias() = m.X * m.W; });
}
void gemm_only(benchmark::State& state, matrix_size size) {
  gemm(state, size, loom_bench::loom_threads());
}
void gemm_only_t1(benchmark::State& state, matrix_size size) {
  gemm(state, size, 1);
}

// matmul, add, relu, each a pass into a preallocated temporary.
void eager(benchmark::State& state, matrix_size size, int threads) {
  const eigen_threads use(threads);
  operands m(size);
  matrix t0(m.Y.rows(), m.Y.cols()), t1(m.Y.rows(), m.Y.cols());
  t0.setZero();
  t1.setZero();
  loom_bench::measure(state, {.items = flops(size)}, [&] {
    t0.noalias() = m.X * m.W;
    t1 = t0.rowwise() + m.b;
    m.Y = t1.cwiseMax(0.f);
  });
  loom_bench::verify_mlp_layer(state, m.out, size);
}
void eager_temps(benchmark::State& state, matrix_size size) {
  eager(state, size, loom_bench::loom_threads());
}
void eager_temps_t1(benchmark::State& state, matrix_size size) {
  eager(state, size, 1);
}

[[maybe_unused]] const bool registered = [] {
  loom_bench::register_workload("W6_mlp_layer",
                                loom_bench::mlp_sizes,
                                {{"loom_fused", loom_fused},
                                 {"loom_fused_t1", loom_fused_t1},
                                 {"loom_eager", loom_eager},
                                 {"eigen_direct", eigen_direct},
                                 {"eigen_direct_t1", eigen_direct_t1},
                                 {"gemm_only", gemm_only},
                                 {"gemm_only_t1", gemm_only_t1},
                                 {"eager_temps", eager_temps},
                                 {"eager_temps_t1", eager_temps_t1}});
  return true;
}();

}  // namespace
