// W7: one training step (forward, backward, Adam) of an MLP with relu hidden layers and
// cross-entropy on class indices (BENCH.md): W7a 64 -> 128 -> 128 -> 10 at batch 32, where
// per-op overhead dominates, and W7b 784 -> 512 -> 10 at batch 256, where the GEMMs do.
// Throughput is FLOPs: the GEMMs of the forward pass (2 B in out per layer), as much again
// for the weights' gradients, and for the layer inputs' except the first (the batch has
// none). Each variant trains from the same initial parameters;
// the loss of its first step is checked against a double-precision forward pass.
//
// loom_fused: loom::compile_training_step, one model for the loss, its gradients and
// loom::adam's update; loom_fused_t1 the same on one thread. loom_two_models_t1: on one
// thread, loom::value_and_grad compiled once and run into preallocated gradients, then
// loom::adam's own fused update. hand_eigen: the step an
// expert writes with Eigen matrices on one thread, backward derived by hand. The libtorch
// variants (autograd and torch::optim::Adam) are in libtorch_peers.cpp.
#include "mlp_training.hpp"

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <loom/loom.hpp>
#include <random>
#include <span>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using loom::extents;
using loom_bench::w7::adam_settings;
using loom_bench::w7::check_loss;
using loom_bench::w7::measure_runs;
using loom_bench::w7::training_data;
using loom_bench::w7::w7a;
using loom_bench::w7::w7b;

// The logits: relu between layers, none after the last. Works on traced values and tensors.
template <class X, class W, class B>
auto mlp_logits(const X& x, const W& w, const B& b) {
  return loom::matmul(x, w) + b;
}
template <class X, class W, class B, class... Rest>
requires(sizeof...(Rest) >
         0) auto mlp_logits(const X& x, const W& w, const B& b, const Rest&... rest) {
  return mlp_logits(loom::relu(loom::matmul(x, w) + b), rest...);
}

const auto mlp_loss = [](const auto& x, const auto& classes, const auto&... params) {
  return loom::cross_entropy(mlp_logits(x, params...), classes);
};

// --- loom ------------------------------------------------------------------------------------

template <class S, std::size_t L>
using weight_t = loom::tensor<float, extents<S::widths[L / 2], S::widths[L / 2 + 1]>>;
template <class S, std::size_t L>
using bias_t = loom::tensor<float, extents<S::widths[L / 2 + 1]>>;
// Parameter K: the weight of layer K / 2 for even K, its bias for odd K.
template <class S, std::size_t K>
using param_t = std::conditional_t<K % 2 == 0, weight_t<S, K>, bias_t<S, K>>;

template <class S, std::size_t K>
param_t<S, K> loom_param(const training_data<S>& d) {
  param_t<S, K> p;
  std::copy(d.params[K].begin(), d.params[K].end(), p.data());
  return p;
}

// How a loom variant runs a step: one model for the loss, the gradients and the update
// (loom::compile_training_step), or value_and_grad's model and then the optimizer's.
enum class loom_step { one_model, two_models };

template <class S>
void run_loom(benchmark::State& state, loom_step how, int threads) {
  const training_data<S> d;
  loom::tensor<float, extents<S::batch, S::widths[0]>> x;
  std::copy(d.x.begin(), d.x.end(), x.data());
  loom::tensor<std::int32_t, extents<S::batch>> classes;
  std::copy(d.classes.begin(), d.classes.end(), classes.data());
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    auto params = std::make_tuple(loom_param<S, K>(d)...);
    loom::tensor<float, extents<>> loss;
    loom::adam optimizer(adam_settings, std::get<K>(params)...);
    if (threads > 0) optimizer.set_threads(threads);
    auto restart = [&] {
      (std::copy(d.params[K].begin(), d.params[K].end(), std::get<K>(params).data()), ...);
      optimizer.reset();
    };
    auto measure_from_first = [&](auto&& train) {
      train();
      const float first_loss = *loss.data();
      measure_runs(state, {.items = S::flops}, restart, train);
      check_loss(state, first_loss, d.initial_loss());
    };
    if (how == loom_step::one_model) {
      auto step = loom::compile_training_step(mlp_loss, optimizer, x, classes);
      if (threads > 0) step.set_threads(threads);
      measure_from_first([&] { step.run(loss, x, classes); });
    } else {
      auto grads = std::make_tuple(param_t<S, K>{}...);
      auto step = loom::compile(loom::value_and_grad(mlp_loss, loom::wrt<(K + 2)...>),
                                x,
                                classes,
                                std::get<K>(params)...);
      if (threads > 0) step.set_threads(threads);
      measure_from_first([&] {
        step.run(std::tie(loss, std::get<K>(grads)...), x, classes, std::get<K>(params)...);
        optimizer.step(std::get<K>(grads)...);
      });
    }
  }
  (std::make_index_sequence<2 * S::layers>{});
}

// --- by hand, with Eigen --------------------------------------------------------------------

using matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using row = Eigen::RowVectorXf;

// Adam's state for one parameter, and its update as torch.optim.Adam's (adam.hpp).
struct adam_state {
  Eigen::ArrayXf m, v;
  void update(float* p, const float* g, std::size_t n, int t) {
    if (m.size() == 0) m = v = Eigen::ArrayXf::Zero(Eigen::Index(n));
    const auto& o = adam_settings;
    const float step = float(o.lr / (1 - std::pow(o.beta1, t))),
                unbias = float(1 / (1 - std::pow(o.beta2, t)));
    Eigen::Map<Eigen::ArrayXf> param(p, Eigen::Index(n));
    Eigen::Map<const Eigen::ArrayXf> grad(g, Eigen::Index(n));
    m = float(o.beta1) * m + float(1 - o.beta1) * grad;
    v = float(o.beta2) * v + float(1 - o.beta2) * grad.square();
    param -= step * m / ((v * unbias).sqrt() + float(o.eps));
  }
};

template <class S>
void hand_eigen(benchmark::State& state) {
  Eigen::setNbThreads(1);
  const training_data<S> d;
  constexpr std::size_t L = S::layers, classes = S::widths[L];
  const Eigen::Index batch = S::batch;
  const matrix x = Eigen::Map<const matrix>(d.x.data(), batch, Eigen::Index(S::widths[0]));
  std::vector<matrix> w(L), dw(L), z(L), dz(L);
  std::vector<row> b(L), db(L);
  std::vector<adam_state> adam(2 * L);
  for (std::size_t l = 0; l < L; ++l) {
    w[l].resize(Eigen::Index(S::widths[l]), Eigen::Index(S::widths[l + 1]));
    b[l].resize(Eigen::Index(S::widths[l + 1]));
  }
  int t = 0;
  float loss = 0, first_loss = 0;
  auto restart = [&] {
    for (std::size_t l = 0; l < L; ++l) {
      w[l] = Eigen::Map<const matrix>(d.params[2 * l].data(), w[l].rows(), w[l].cols());
      b[l] = Eigen::Map<const row>(d.params[2 * l + 1].data(), b[l].cols());
    }
    for (adam_state& a : adam) {  // kept allocated: the first step after a restart is timed
      a.m.setZero();
      a.v.setZero();
    }
    t = 0;
  };
  restart();
  auto train = [&] {
    // Forward: z[l] holds each layer's output, relu applied in place for the hidden ones.
    for (std::size_t l = 0; l < L; ++l) {
      const matrix& in = l == 0 ? x : z[l - 1];
      z[l].noalias() = in * w[l];
      z[l].rowwise() += b[l];
      if (l + 1 < L) z[l] = z[l].cwiseMax(0.f);
    }
    // Softmax cross-entropy: the logits' cotangent is (softmax - one_hot) / batch.
    matrix& g = dz[L - 1];
    g = z[L - 1];
    loss = 0;
    for (Eigen::Index r = 0; r < batch; ++r) {
      const float m = g.row(r).maxCoeff();
      g.row(r) = (g.row(r).array() - m).exp();
      const float s = g.row(r).sum();
      loss += m + std::log(s) - z[L - 1](r, d.classes[std::size_t(r)]);
      g.row(r) /= s * float(batch);
      g(r, d.classes[std::size_t(r)]) -= 1.f / float(batch);
    }
    loss /= float(batch);
    // Backward through the layers; relu's mask from the stored (post-relu) outputs.
    for (std::size_t l = L; l-- > 0;) {
      const matrix& in = l == 0 ? x : z[l - 1];
      dw[l].noalias() = in.transpose() * dz[l];
      db[l] = dz[l].colwise().sum();
      if (l > 0) {
        dz[l - 1].noalias() = dz[l] * w[l].transpose();
        dz[l - 1] = (z[l - 1].array() > 0.f).select(dz[l - 1], 0.f);
      }
    }
    ++t;
    for (std::size_t l = 0; l < L; ++l) {
      adam[2 * l].update(w[l].data(), dw[l].data(), std::size_t(w[l].size()), t);
      adam[2 * l + 1].update(b[l].data(), db[l].data(), std::size_t(b[l].size()), t);
    }
  };
  train();
  first_loss = loss;
  measure_runs(state, {.items = S::flops}, restart, train);
  check_loss(state, first_loss, d.initial_loss());
  Eigen::setNbThreads(0);
  (void)classes;
}

template <class S>
void register_w7(const char* workload) {
  const std::string prefix = std::string(workload) + "/";
  auto add = [&](const char* variant, void (*fn)(benchmark::State&)) {
    benchmark::RegisterBenchmark((prefix + variant).c_str(), fn)->UseRealTime();
  };
  add("loom_fused", [](benchmark::State& s) { run_loom<S>(s, loom_step::one_model, 0); });
  add("loom_fused_t1", [](benchmark::State& s) { run_loom<S>(s, loom_step::one_model, 1); });
  add("loom_two_models_t1", [](benchmark::State& s) { run_loom<S>(s, loom_step::two_models, 1); });
  add("hand_eigen", [](benchmark::State& s) { hand_eigen<S>(s); });
}

[[maybe_unused]] const bool registered = [] {
  register_w7<w7a>("W7a_mlp_training_step");
  register_w7<w7b>("W7b_mlp_training_step");
  return true;
}();

}  // namespace
