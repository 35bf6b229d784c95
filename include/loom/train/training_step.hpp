#pragma once

#include <tuple>
#include <utility>

#include "loom/tensor/tensor.hpp"

// A whole training step as one compiled model: the forward pass, the backward pass and an
// optimizer's update of the parameters, planned and fused together, so that no gradient needs
// a buffer of its own where the planner can fuse the update into the pass that computes it.
namespace loom {

namespace train {

// A training step recorded into a CUDA graph: each launch() is one step (the optimizer's
// scalars for it, then one graph launch), on the buffers it was captured with.
template <class Optimizer, class Graph>
class captured_step {
 public:
  captured_step(Optimizer& optimizer, Graph graph)
      : optimizer_(&optimizer), graph_(std::move(graph)) {}
  void launch() { optimizer_->replay_step(graph_); }

 private:
  Optimizer* optimizer_;
  Graph graph_;
};

template <class Optimizer, class Model>
class training_step {
 public:
  training_step(Optimizer& optimizer, Model model)
      : optimizer_(&optimizer), model_(std::move(model)) {}

  // One step on `data...`: the loss, and the optimizer's parameters and state updated in
  // place, as optimizer.step(grads...) with the gradients of value_and_grad would.
  template <class... D>
  auto operator()(const D&... data) {
    typename Model::template output_tensor<0> loss(detail::static_shape<extents<>>(),
                                                   optimizer_->context());
    run(loss, data...);
    return loss;
  }
  // The same, with the loss written into a rank-0 tensor you own.
  template <class L, class... D>
  void run(L& loss, const D&... data) {
    optimizer_->run_step(model_, std::tie(loss), data...);
  }

  // On a device: the step recorded once into a CUDA graph over `loss` and `data...`, for a
  // loop that trains on the same buffers (refilled between steps). The optimizer's stream
  // must be a created stream, not the legacy default one.
  template <class L, class... D>
  auto capture(L& loss, const D&... data) {
    return captured_step(*optimizer_, optimizer_->capture_step(model_, std::tie(loss), data...));
  }

  // The threads the step runs on (0: loom's default), as a compiled model's set_threads.
  void set_threads(int n) { model_.set_threads(n); }
  // The compiled model, for loom::explain and kernel_count. Its inputs are the data, then the
  // parameters, the optimizer's states and its per-step scalars.
  const Model& model() const { return model_; }

 private:
  Optimizer* optimizer_;
  Model model_;
};

}  // namespace train

// compile_training_step(loss_model, optimizer, data...): loss_model takes the data, then the
// optimizer's parameters in the optimizer's order, and returns a rank-0 floating-point loss.
// `data...` declares the data inputs (loom::input, or tensors of their dtypes and extents).
// Each call of the result is one step of training: the loss, its gradients and the update.
template <class F, class Optimizer, class... D>
auto compile_training_step(F loss_model, Optimizer& optimizer, const D&... data) {
  return train::training_step(optimizer,
                              optimizer.compile_training_step(std::move(loss_model), data...));
}

}  // namespace loom
