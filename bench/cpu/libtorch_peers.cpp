// The `libtorch` variant of W1-W6 (BENCH.md): the same math in PyTorch's C++ eager API, op by
// op, as a PyTorch user without torch.compile runs it. Built only where CMake finds libtorch
// (Debian's libtorch-dev); its thread count is set once per run, to loom_fused's, because
// at::set_num_threads rebuilds the pool and would poison a timing loop. W7's libtorch_t1 and
// libtorch (a training step) are here too.
#ifdef LOOM_HAVE_LIBTORCH
#include "mlp_training.hpp"

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstddef>
#include <functional>
#include <loom/loom.hpp>
#include <span>
#include <string>
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

// W7 (mlp_training.hpp): autograd and torch::optim::Adam, on `threads` threads. The pool size
// is set for the one benchmark and given back after it, outside its timing loop.
struct torch_threads {
  int saved = at::get_num_threads();
  explicit torch_threads(int n) { at::set_num_threads(n); }
  ~torch_threads() { at::set_num_threads(saved); }
};

template <class S>
void run_libtorch(benchmark::State& state, int threads) {
  const torch_threads use(threads);
  const loom_bench::w7::training_data<S> d;
  const auto x = torch::from_blob(const_cast<float*>(d.x.data()),
                                  {std::int64_t(S::batch), std::int64_t(S::widths[0])})
                     .clone();
  const auto classes =
      torch::from_blob(
          const_cast<std::int32_t*>(d.classes.data()), {std::int64_t(S::batch)}, torch::kInt)
          .to(torch::kLong);
  std::vector<torch::Tensor> params;
  for (std::size_t l = 0; l < S::layers; ++l) {
    params.push_back(torch::from_blob(const_cast<float*>(d.params[2 * l].data()),
                                      {std::int64_t(S::widths[l]), std::int64_t(S::widths[l + 1])})
                         .clone()
                         .requires_grad_());
    params.push_back(torch::from_blob(const_cast<float*>(d.params[2 * l + 1].data()),
                                      {std::int64_t(S::widths[l + 1])})
                         .clone()
                         .requires_grad_());
  }
  torch::optim::Adam optimizer(params, torch::optim::AdamOptions(loom_bench::w7::adam_settings.lr));
  auto restart = [&] {
    const torch::NoGradGuard no_grad;
    for (std::size_t k = 0; k < params.size(); ++k)
      params[k].copy_(torch::from_blob(const_cast<float*>(d.params[k].data()), params[k].sizes()));
    optimizer.state().clear();  // Adam starts each parameter's state at its next step
  };
  float loss_value = 0;
  auto train = [&] {
    optimizer.zero_grad();
    torch::Tensor h = x;
    for (std::size_t l = 0; l < S::layers; ++l) {
      h = torch::addmm(params[2 * l + 1], h, params[2 * l]);
      if (l + 1 < S::layers) h = torch::relu(h);
    }
    auto loss = torch::nn::functional::cross_entropy(h, classes);
    loss.backward();
    optimizer.step();
    loss_value = loss.item<float>();
  };
  train();
  const float first_loss = loss_value;
  loom_bench::w7::measure_runs(state, {.items = S::flops}, restart, train);
  loom_bench::w7::check_loss(state, first_loss, d.initial_loss());
}

template <class S>
void register_w7(const std::string& workload) {
  benchmark::RegisterBenchmark((workload + "/libtorch_t1").c_str(), [](benchmark::State& s) {
    run_libtorch<S>(s, 1);
  })->UseRealTime();
  benchmark::RegisterBenchmark((workload + "/libtorch").c_str(), [](benchmark::State& s) {
    run_libtorch<S>(s, loom_bench::loom_threads());
  })->UseRealTime();
}

const bool registered = [] {
  at::set_num_threads(loom_bench::loom_threads());
  loom_bench::register_workload("W1_relu_chain", {{"libtorch", w1}});
  loom_bench::register_workload("W2_activation_mix", {{"libtorch", w2}});
  loom_bench::register_workload("W3_seed_allow_in_graph", {{"libtorch", w3}});
  loom_bench::register_workload("W4_softmax", loom_bench::row_sizes, {{"libtorch", w4}});
  loom_bench::register_workload("W5_layer_norm", loom_bench::row_sizes, {{"libtorch", w5}});
  loom_bench::register_workload("W6_mlp_layer", loom_bench::mlp_sizes, {{"libtorch", w6}});
  register_w7<loom_bench::w7::w7a>("W7a_mlp_training_step");
  register_w7<loom_bench::w7::w7b>("W7b_mlp_training_step");
  return true;
}();

}  // namespace
#endif
