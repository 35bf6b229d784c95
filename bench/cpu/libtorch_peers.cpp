// The `libtorch` variant of W1-W3 (BENCH.md): the same math in PyTorch's C++ eager API, op by
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

const bool registered = [] {
  at::set_num_threads(loom_bench::loom_threads());
  loom_bench::register_workload("W1_relu_chain", {{"libtorch", w1}});
  loom_bench::register_workload("W2_activation_mix", {{"libtorch", w2}});
  loom_bench::register_workload("W3_seed_allow_in_graph", {{"libtorch", w3}});
  return true;
}();

}  // namespace
#endif
