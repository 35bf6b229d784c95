#pragma once

#include <cstddef>
#include <utility>

#include "loom/backends/common/model_base.hpp"
#include "loom/backends/cpu/execute.hpp"
#include "loom/backends/cpu/threads.hpp"

namespace loom {

// A traced or scripted graph, planned into fused groups and run by the CPU backend on
// loom::tensor and tensor_view. `Inputs` are the loom::input declarations it was compiled for.
template <class G, class... Inputs>
class compiled_model : public detail::model_base<G, host_memory, Inputs...> {
  using base = detail::model_base<G, host_memory, Inputs...>;
  using base::graph_;

 public:
  explicit compiled_model(G g) : base(std::move(g)) {}

  // What each step reads, computes and stores as this backend runs it (explain prints it):
  // the plan's, with the CPU's stashes.
  template <std::size_t Step>
  using step_reads = cpu::stash_reads<G, Step>;

  // Threads for this model's passes; 0 (the default) follows loom::num_threads().
  void set_threads(int n) { threads_ = n; }
  int threads() const {
#ifdef _OPENMP
    return threads_ > 0 ? threads_ : num_threads();
#else
    return 1;
#endif
  }

  // Runs the model and returns its result(s) in new tensors (from loom's buffer pool, so a
  // loop that drops the previous result reuses its memory).
  template <class... Args>
  auto operator()(const Args&... args) const {
    auto frame = base::bind(args...);
    return base::into_new_outputs(
        frame, {}, [&](const auto& outputs) { cpu::execute(graph_, frame, outputs, threads()); });
  }

  // Runs the model into caller-owned outputs: one tensor or view, or a std::tuple of them
  // (std::tie) for a model with several results.
  template <class Outs, class... Args>
  void run(Outs&& outs, const Args&... args) const {
    auto frame = base::bind(args...);
    const auto outputs = base::bind_outputs(frame, outs);
    common::check_aliasing<G>(frame, outputs);
    cpu::execute(graph_, frame, outputs, threads());
  }

 private:
  int threads_ = 0;
};

}  // namespace loom
