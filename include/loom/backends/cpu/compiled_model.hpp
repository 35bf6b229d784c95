#pragma once

#include <array>
#include <boost/hana/for_each.hpp>
#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/backends/common/bind.hpp"
#include "loom/backends/common/model_base.hpp"
#include "loom/backends/cpu/execute.hpp"
#include "loom/graph/impure.hpp"
#include "loom/graph/input.hpp"
#include "loom/graph/plan.hpp"
#include "loom/graph/type_name.hpp"
#include "loom/tensor/tensor.hpp"

namespace loom {

// A traced or scripted graph, planned into fused groups and run by the CPU backend.
// `Inputs` are the loom::input declarations it was compiled for.
template <class G, class... Inputs>
class compiled_model : public detail::model_base<G, Inputs...> {
  using base = detail::model_base<G, Inputs...>;
  using base::graph_;

 public:
  using base::output_count;

  template <std::size_t K>
  using output_tensor = tensor<typename node_t<G, G::outputs[K]>::value_type,
                               typename node_t<G, G::outputs[K]>::extents_type>;

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
    static_assert((tensor_like<Args> && ...),
                  "loom: compiled models take loom::tensor or tensor_view");
    auto frame = detail::bind_inputs<G, Inputs...>(args...);
    auto outs = [&]<std::size_t... K>(std::index_sequence<K...>) {
      return std::tuple<output_tensor<K>...>{output_tensor<K>(frame.shapes[G::outputs[K]])...};
    }
    (std::make_index_sequence<output_count>{});
    std::array<void*, output_count> ptr;
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      ((ptr[K] = std::get<K>(outs).data()), ...);
    }
    (std::make_index_sequence<output_count>{});
    cpu::execute(graph_, frame, ptr, threads());
    if constexpr (G::returns_tuple)
      return outs;
    else
      return std::move(std::get<0>(outs));
  }

  // Runs the model into caller-owned outputs: one tensor or view, or a std::tuple of them
  // (std::tie) for a model with several results.
  template <class Outs, class... Args>
  void run(Outs&& outs, const Args&... args) const {
    static_assert((tensor_like<Args> && ...),
                  "loom: compiled models take loom::tensor or tensor_view");
    auto frame = detail::bind_inputs<G, Inputs...>(args...);
    auto bind = [&](auto&& out_tuple) {
      static_assert(std::tuple_size_v<std::remove_cvref_t<decltype(out_tuple)>> == output_count,
                    "loom: run() needs one output per result of the model");
      std::array<void*, output_count> ptr;
      [&]<std::size_t... K>(std::index_sequence<K...>) {
        using outs_type = std::remove_cvref_t<decltype(out_tuple)>;
        static_assert((tensor_like<std::tuple_element_t<K, outs_type>> && ...),
                      "loom: compiled models write into loom::tensor or tensor_view outputs");
        (detail::bind_output<G, K>(std::get<K>(out_tuple), frame.shapes[G::outputs[K]], ptr[K]),
         ...);
      }
      (std::make_index_sequence<output_count>{});
      common::check_aliasing<G>(frame, ptr);
      cpu::execute(graph_, frame, ptr, threads());
    };
    if constexpr (detail::is_tuple_v<std::remove_cvref_t<Outs>>)
      bind(outs);
    else
      bind(std::forward_as_tuple(outs));
  }

 private:
  int threads_ = 0;
};

}  // namespace loom
