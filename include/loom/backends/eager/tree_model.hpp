#pragma once

#include <any>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "loom/backends/common/bind.hpp"
#include "loom/backends/eager/eager.hpp"
#include "loom/graph/flatten.hpp"

namespace loom::eager {

namespace detail {

// The results of the impure calls and hooks run so far, by trace id: tracing copied each
// into every place its value is used, and eager mode calls it once.
using call_results = std::unordered_map<std::uint64_t, std::any>;

// The value of traced tree `node` on the model's inputs `args`, op by op as eager mode
// computes it.
template <class N, class Args>
decltype(auto) evaluate(const N& node, const Args& args, call_results& done) {
  if constexpr (loom::detail::is_input_leaf_v<N>) {
    return std::get<N::index>(args);
  } else if constexpr (is_scalar_leaf_v<N> || is_literal_leaf_v<N>) {
    return N(node);
  } else {
    auto compute = [&] {
      return [&]<std::size_t... J>(std::index_sequence<J...>) {
        return run(node.op, evaluate(node_at<J>(node.args), args, done)...);
      }
      (std::make_index_sequence<N::args_type::size>{});
    };
    if constexpr (requires { node.op.alias; }) {
      using R = decltype(compute());
      if (const auto it = done.find(node.op.trace_id); it != done.end())
        return std::any_cast<R>(it->second);
      R r = compute();
      done.emplace(node.op.trace_id, r);
      return r;
    } else {
      return compute();
    }
  }
}

// `value` as a new tensor of the given type (moved where it is one already).
template <class Tensor, class V>
Tensor to_tensor(V&& value) {
  if constexpr (std::is_same_v<std::remove_cvref_t<V>, Tensor>) {
    return Tensor(std::forward<V>(value));
  } else {
    Tensor t(value.shape());
    std::copy(value.begin(), value.begin() + value.size(), t.begin());
    return t;
  }
}

}  // namespace detail

// A traced model run op by op, as eager mode runs it (each op on loom::num_threads()): the
// form a compiled model takes where two values it merged by type hold different run-time
// scalars or callables. `G` is the merged graph: its inputs are checked alike, and its
// outputs have the same types.
template <class Tree, class G, class... Inputs>
class tree_model {
 public:
  explicit tree_model(Tree tree) : tree_(std::move(tree)) {}

  template <class... Args>
  auto operator()(const Args&... args) const {
    (void)loom::detail::bind_inputs<G, Inputs...>(args...);
    const auto args_tuple = std::forward_as_tuple(args...);
    detail::call_results done;
    const auto results = loom::detail::as_outputs(tree_);
    auto outs = [&]<std::size_t... K>(std::index_sequence<K...>) {
      return std::tuple<output_tensor<K>...>{detail::to_tensor<output_tensor<K>>(
          detail::evaluate(node_at<K>(results), args_tuple, done))...};
    }
    (std::make_index_sequence<G::output_count>{});
    if constexpr (G::returns_tuple)
      return outs;
    else
      return std::move(std::get<0>(outs));
  }

  // Into caller-owned outputs: computed first, then copied, so an output may be an input.
  template <class Outs, class... Args>
  void run(Outs&& outs, const Args&... args) const {
    auto results = (*this)(args...);
    auto copy = [&](auto&& out_tuple, auto&& result_tuple) {
      [&]<std::size_t... K>(std::index_sequence<K...>) {
        (
            [&] {
              void* ptr = nullptr;
              const auto& r = std::get<K>(result_tuple);
              loom::detail::bind_output<G, K>(std::get<K>(out_tuple), r.shape(), ptr);
              using T = typename node_t<G, G::outputs[K]>::value_type;
              std::copy(r.begin(), r.end(), static_cast<T*>(ptr));
            }(),
            ...);
      }
      (std::make_index_sequence<G::output_count>{});
    };
    if constexpr (G::returns_tuple)
      copy(std::forward<Outs>(outs), results);
    else if constexpr (loom::detail::is_tuple_v<std::remove_cvref_t<Outs>>)
      copy(std::forward<Outs>(outs), std::forward_as_tuple(results));
    else
      copy(std::forward_as_tuple(outs), std::forward_as_tuple(results));
  }

 private:
  template <std::size_t K>
  using output_tensor = tensor<typename node_t<G, G::outputs[K]>::value_type,
                               typename node_t<G, G::outputs[K]>::extents_type>;

  Tree tree_;
};

}  // namespace loom::eager
