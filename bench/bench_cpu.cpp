// Placeholder benchmark (to be replaced).
#include <benchmark/benchmark.h>

#include <Eigen/Core>

static void BM_eigen_matmul_64(benchmark::State& state) {
  const Eigen::MatrixXf a = Eigen::MatrixXf::Random(64, 64);
  const Eigen::MatrixXf b = Eigen::MatrixXf::Random(64, 64);
  Eigen::MatrixXf c(64, 64);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
}
BENCHMARK(BM_eigen_matmul_64);

BENCHMARK_MAIN();
