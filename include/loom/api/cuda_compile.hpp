#pragma once

#include <utility>

#include "loom/api/compile.hpp"
#include "loom/backends/cuda/compiled_model.hpp"

// loom::cuda::compile: the front end of the CUDA backend. It traces and plans as
// loom::compile does, then hands the graph to the CUDA backend's model.
namespace loom::cuda {

// The CUDA form of a model compiled for the CPU: same graph, same plan.
template <class G, class... Inputs>
compiled_model<G, Inputs...> to_cuda(const loom::compiled_model<G, Inputs...>& model) {
  return compiled_model<G, Inputs...>(model.graph());
}

// ... and of a model that merged copies of values built on run-time state. The CUDA backend
// has no op-by-op form, so two such values that share a type but not their state (x * 2.f +
// x * 3.f) are an error here.
template <class Shared, class Apart>
auto to_cuda(const loom::detail::copies_model<Shared, Apart>& model) {
  if (model.apart())
    throw trace_error(
        "loom::cuda: two values of one type hold different run-time scalars or callables "
        "(as in x * 2.f + x * 3.f), which the CUDA backend cannot keep apart; use loom::lit "
        "or a rank-0 input for the scalars");
  return to_cuda(static_cast<const Shared&>(model));
}

// loom::cuda::compile(...) takes what loom::compile takes (a model and its input
// declarations, optionally loom::fullgraph; or a scripted result) and gives the CUDA model.
template <class... Args>
auto compile(Args&&... args) {
  return to_cuda(loom::compile(std::forward<Args>(args)...));
}

}  // namespace loom::cuda
