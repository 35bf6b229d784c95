#pragma once

// W7's training problem (BENCH.md), shared by its loom and Eigen variants
// (w7_training_step.cpp) and its libtorch ones (libtorch_peers.cpp): the MLP's shape, the
// batch, its classes and the initial parameters, the same for every variant, and the first
// step's loss in double precision, against which each variant is checked.
#include "../harness.hpp"

#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <loom/loom.hpp>
#include <random>
#include <span>
#include <utility>
#include <vector>

namespace loom_bench::w7 {

constexpr loom::adam_options adam_settings{.lr = 1e-3};

// The widths of the layers, input first, and the batch.
template <std::size_t Batch, std::size_t... Width>
struct mlp_shape {
  static constexpr std::size_t batch = Batch, layers = sizeof...(Width) - 1;
  static constexpr std::array<std::size_t, sizeof...(Width)> widths{Width...};
  // The GEMMs of a step: per layer 2 B in out forward, as much for the weight's gradient,
  // and as much for the layer input's, except the first layer's (the batch has none).
  static constexpr std::size_t flops = [] {
    std::size_t f = 0;
    for (std::size_t l = 0; l < layers; ++l)
      f += (l == 0 ? 2 : 3) * 2 * Batch * widths[l] * widths[l + 1];
    return f;
  }();
};
using w7a = mlp_shape<32, 64, 128, 128, 10>;
using w7b = mlp_shape<256, 784, 512, 10>;

// The batch (input 0 of the harness) and its classes, and He-initialised parameters, the
// same for every variant: weights in row-major [in, out] order, then biases of 0.01.
template <class S>
struct training_data {
  std::vector<float> x;
  std::vector<std::int32_t> classes;
  std::array<std::vector<float>, 2 * S::layers> params;

  training_data() {
    const auto& in = loom_bench::input(0, S::batch * S::widths[0]);
    x.assign(in.begin(), in.end());
    std::mt19937 rng(99);
    std::uniform_int_distribution<int> pick(0, int(S::widths[S::layers]) - 1);
    for (std::size_t r = 0; r < S::batch; ++r) classes.push_back(pick(rng));
    for (std::size_t l = 0; l < S::layers; ++l) {
      const std::size_t n = S::widths[l] * S::widths[l + 1];
      const auto& w = loom_bench::input(int(l) + 1, n);
      const float scale = std::sqrt(2.f / float(S::widths[l]));
      for (float v : w) params[2 * l].push_back(v * scale);
      params[2 * l + 1].assign(S::widths[l + 1], 0.01f);
    }
  }

  // The first step's loss, in double precision.
  double initial_loss() const {
    std::vector<double> h(x.begin(), x.end());
    for (std::size_t l = 0; l < S::layers; ++l) {
      const std::size_t in = S::widths[l], out = S::widths[l + 1];
      std::vector<double> next(S::batch * out);
      for (std::size_t r = 0; r < S::batch; ++r)
        for (std::size_t c = 0; c < out; ++c) {
          double z = params[2 * l + 1][c];
          for (std::size_t k = 0; k < in; ++k) z += h[r * in + k] * params[2 * l][k * out + c];
          next[r * out + c] = l + 1 < S::layers ? std::max(z, 0.0) : z;
        }
      h = std::move(next);
    }
    const std::size_t n = S::widths[S::layers];
    double loss = 0;
    for (std::size_t r = 0; r < S::batch; ++r) {
      double m = h[r * n], s = 0;
      for (std::size_t c = 0; c < n; ++c) m = std::max(m, h[r * n + c]);
      for (std::size_t c = 0; c < n; ++c) s += std::exp(h[r * n + c] - m);
      loss += m + std::log(s) - h[r * n + std::size_t(classes[r])];
    }
    return loss / double(S::batch);
  }
};

// Steps a variant takes from the initial parameters before it starts again from them.
// Training on one batch without end drives the gradients, and with them Adam's moving
// averages, into subnormal floats, whose arithmetic is many times slower: W7a's step on one
// thread took 88 us after 800 steps and 413 us after 130,000, so a time depended on how many
// steps the benchmark library chose to run. Restarting every run of these steps makes every
// variant time the same steps, all of them clear of subnormals.
inline constexpr std::size_t steps_per_run = 100;

// Times `step` as loom_bench::measure does, calling `restart` (parameters and optimizer state
// back to their initial values) before the first step and every steps_per_run steps, outside
// the timing.
inline void measure_runs(benchmark::State& state,
                         per_call work,
                         const std::function<void()>& restart,
                         const std::function<void()>& step) {
  std::size_t taken = 0;
  restart();
  loom_bench::measure(state, work, [&] {
    if (taken == steps_per_run) {
      state.PauseTiming();
      restart();
      state.ResumeTiming();
      taken = 0;
    }
    step();
    ++taken;
  });
}

inline void check_loss(benchmark::State& state, float got, double want) {
  loom_bench::check(
      state, std::span<const float>(&got, 1), [want](std::size_t) { return want; }, 1e-5);
}

}  // namespace loom_bench::w7
