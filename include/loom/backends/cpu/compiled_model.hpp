#pragma once

#include <array>
#include <boost/hana/for_each.hpp>
#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/backends/cpu/execute.hpp"
#include "loom/graph/impure.hpp"
#include "loom/graph/input.hpp"
#include "loom/graph/plan.hpp"
#include "loom/graph/type_name.hpp"
#include "loom/tensor/tensor.hpp"

namespace loom {

// Named checks, so that a failed static_assert prints the input's position and both types.
template <std::size_t Input, class Compiled, class Given>
inline constexpr bool input_dtype_matches = std::is_same_v<Compiled, Given>;

template <std::size_t Input, class Compiled, class Given>
inline constexpr bool input_extents_match = [] {
  if (Compiled::rank != Given::rank) return false;
  for (std::size_t d = 0; d < Compiled::rank; ++d)
    if (Compiled::dims[d] != dyn && Given::dims[d] != dyn && Compiled::dims[d] != Given::dims[d])
      return false;
  return true;
}();

// A traced or scripted graph, planned into fused groups and run by the CPU backend.
// `Inputs` are the loom::input declarations it was compiled for.
template <class G, class... Inputs>
class compiled_model {
 public:
  using graph_type = G;
  using plan = fusion_plan<G>;
  static constexpr std::size_t node_count = G::node_count;
  static constexpr std::size_t input_count = sizeof...(Inputs);
  static constexpr std::size_t output_count = G::output_count;
  // Passes over memory (CPU loop nests, GPU kernels) one call makes; fixed at compile time.
  static constexpr std::size_t kernel_count = plan::kernel_count;

  template <std::size_t K>
  using output_tensor = tensor<typename node_t<G, G::outputs[K]>::value_type,
                               typename node_t<G, G::outputs[K]>::extents_type>;

  explicit compiled_model(G g) : graph_(std::move(g)) { link_reused_impure_nodes(graph_); }

  const G& graph() const { return graph_; }

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
    auto frame = prepare(args...);
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
    auto frame = prepare(args...);
    auto bind = [&](auto&& out_tuple) {
      static_assert(std::tuple_size_v<std::remove_cvref_t<decltype(out_tuple)>> == output_count,
                    "loom: run() needs one output per result of the model");
      std::array<void*, output_count> ptr;
      [&]<std::size_t... K>(std::index_sequence<K...>) {
        (check_output<K>(std::get<K>(out_tuple), frame.shapes[G::outputs[K]], ptr[K]), ...);
      }
      (std::make_index_sequence<output_count>{});
      cpu::execute(graph_, frame, ptr, threads());
    };
    if constexpr (detail::is_tuple_v<std::remove_cvref_t<Outs>>)
      bind(outs);
    else
      bind(std::forward_as_tuple(outs));
  }

 private:
  template <std::size_t K, class Out>
  static void check_output(Out& out, const shape& expected, void*& ptr) {
    using O = std::remove_cvref_t<Out>;
    using T = typename node_t<G, G::outputs[K]>::value_type;
    static_assert(tensor_like<O> && std::is_same_v<typename O::element_type, T>,
                  "loom: an output buffer's element type differs from the model's result");
    if (!(out.shape() == expected))
      throw shape_error("loom: output " + std::to_string(K) + " has shape " +
                        out.shape().to_string() + " but the model produces " +
                        expected.to_string());
    ptr = out.data();
  }

  template <class... Args>
  cpu::call_frame<node_count> prepare(const Args&... args) const {
    static_assert(sizeof...(Args) == input_count,
                  "loom: a compiled model takes exactly the inputs it was compiled for");
    std::array<shape, input_count> in_shape{};
    std::array<const void*, input_count> in_data{};
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      (check_input<K, Inputs>(args, in_shape[K], in_data[K]), ...);
    }
    (std::make_index_sequence<input_count>{});
    cpu::call_frame<node_count> frame;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            using Op = typename node_t<G, I>::op_type;
            if constexpr (detail::is_input_leaf_v<Op>) {
              frame.shapes[I] = in_shape[Op::index];
              frame.data[I] = const_cast<void*>(in_data[Op::index]);
            }
          }(),
          ...);
    }
    (std::make_index_sequence<node_count>{});
    cpu::infer_shapes<G>(frame);
    cpu::check_step_shapes<G>(frame);
    cpu::check_impure_shapes<G>(frame);
    return frame;
  }

  template <std::size_t K, class Spec, class Arg>
  static void check_input(const Arg& arg, shape& s, const void*& data) {
    static_assert(tensor_like<Arg>, "loom: compiled models take loom::tensor or tensor_view");
    using E = typename Spec::extents_type;
    static_assert(input_dtype_matches<K,
                                      typename Spec::value_type,
                                      std::remove_const_t<typename Arg::element_type>>,
                  "loom: an input's element type differs from the one the model was compiled for");
    static_assert(
        input_extents_match<K, E, typename Arg::extents_type>,
        "loom: an input's static extents differ from the ones the model was compiled for");
    if (!conforms<E>(arg.shape()))
      throw shape_error("loom: input " + std::to_string(K) + " has shape " +
                        arg.shape().to_string() + " but the model was compiled for " +
                        extents_string<E>());
    s = arg.shape();
    data = arg.data();
  }

  G graph_;
  int threads_ = 0;
};

}  // namespace loom
