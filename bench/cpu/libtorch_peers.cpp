// The `libtorch` variant of W1-W6 (BENCH.md): the same math in PyTorch's C++ eager API, op by
// op, as a PyTorch user without torch.compile runs it. Built only where CMake finds libtorch
// (Debian's libtorch-dev); its thread count is set once per run, to loom_fused's, because
// at::set_num_threads rebuilds the pool and would poison a timing loop.
#ifdef LOOM_HAVE_LIBTORCH
#include "../harness.hpp"

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstddef>
#include <functional>
#include <loom/loom.hpp>
#include <span>
#include <utility>
#include <vector>

namespace {

std::size_t size_of(const benchmark::State& state) {
  return static_cast<std::size_t>(state.range(0));
}

// A torch tensor over loom's input buffer, without a copy.
torch::Tensor input(int k, std::size_t n) {
  const auto& x = loom_bench::input(k, n);
  return torch::from_blob(
      const_cast<float*>(x.data()), {static_cast<std::int64_t>(n)}, torch::kFloat);
}

void w1(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const auto x = input(0, n);
  loom_bench::measure(state, 2 * n * sizeof(float), [&] {
    auto r = torch::relu(x) * 2 + 10;
    benchmark::DoNotOptimize(r.data_ptr());
  });
}

void w2(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const auto a = input(0, n), b = input(1, n), c = input(2, n);
  loom_bench::measure(state, 4 * n * sizeof(float), [&] {
    auto r = torch::tanh(a * b + c) * torch::sigmoid(a - c) + 0.5 * torch::exp(-b * b);
    benchmark::DoNotOptimize(r.data_ptr());
  });
}

// The seed's custom_hook_function (x * 2 + 10) has no torch form but its ops.
void w3(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const auto x = input(0, n);
  loom_bench::measure(state, 2 * n * sizeof(float), [&] {
    auto y = torch::relu(x);
    auto r = y * 2 + 10;
    benchmark::DoNotOptimize(r.data_ptr());
  });
}

// Input `k` as a torch tensor of the given sizes, over loom's buffer.
torch::Tensor input_as(int k, const std::vector<std::int64_t>& sizes) {
  std::size_t n = 1;
  for (const std::int64_t s : sizes) n *= static_cast<std::size_t>(s);
  return torch::from_blob(const_cast<float*>(loom_bench::input(k, n).data()), sizes, torch::kFloat);
}

std::int64_t extent(std::size_t n) {
  return static_cast<std::int64_t>(n);
}

std::span<const float> elements(const torch::Tensor& t) {
  return {t.data_ptr<float>(), static_cast<std::size_t>(t.numel())};
}

void w4(benchmark::State& state, loom_bench::matrix_size size) {
  const auto x = input_as(0, {extent(size.rows), extent(size.cols)});
  loom_bench::measure(state, 2 * size.size() * sizeof(float), [&] {
    auto r = torch::softmax(x, -1);
    benchmark::DoNotOptimize(r.data_ptr());
  });
  loom_bench::verify_softmax(state, elements(torch::softmax(x, -1)), size);
}

void w5(benchmark::State& state, loom_bench::matrix_size size) {
  const auto x = input_as(0, {extent(size.rows), extent(size.cols)});
  const auto gamma = input_as(1, {extent(size.cols)}), beta = input_as(2, {extent(size.cols)});
  auto layer_norm = [&] {
    return torch::layer_norm(x, {extent(size.cols)}, gamma, beta, 1e-5);
  };
  loom_bench::measure(state, (2 * size.size() + 2 * size.cols) * sizeof(float), [&] {
    auto r = layer_norm();
    benchmark::DoNotOptimize(r.data_ptr());
  });
  loom_bench::verify_layer_norm(state, elements(layer_norm()), size);
}

// As a PyTorch user writes the layer without nn.Linear (which would want W transposed).
// Debian's libtorch runs matmul through the system's libblas.so.3: with only the reference
// BLAS installed (no OpenBLAS) this variant measures that BLAS, not libtorch.
void w6(benchmark::State& state, loom_bench::matrix_size size) {
  const auto x = input_as(0, {extent(size.rows), extent(size.cols)});
  const auto w = input_as(1, {extent(size.cols), extent(size.cols)});
  const auto b = input_as(2, {extent(size.cols)});
  auto layer = [&] {
    return torch::relu(torch::matmul(x, w) + b);
  };
  loom_bench::measure(state, {.items = 2 * size.rows * size.cols * size.cols}, [&] {
    auto r = layer();
    benchmark::DoNotOptimize(r.data_ptr());
  });
  loom_bench::verify_mlp_layer(state, elements(layer()), size);
}

const bool registered = [] {
  at::set_num_threads(loom_bench::loom_threads());
  loom_bench::register_workload("W1_relu_chain", {{"libtorch", w1}});
  loom_bench::register_workload("W2_activation_mix", {{"libtorch", w2}});
  loom_bench::register_workload("W3_seed_allow_in_graph", {{"libtorch", w3}});
  loom_bench::register_workload("W4_softmax", loom_bench::row_sizes, {{"libtorch", w4}});
  loom_bench::register_workload("W5_layer_norm", loom_bench::row_sizes, {{"libtorch", w5}});
  loom_bench::register_workload("W6_mlp_layer", loom_bench::mlp_sizes, {{"libtorch", w6}});
  return true;
}();

}  // namespace
#endif
