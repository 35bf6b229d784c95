#pragma once

#include <array>
#include <boost/hana/at.hpp>
#include <cstddef>
#include <string>
#include <utility>

#include "loom/backends/cpu/run_group.hpp"
#include "loom/core/shape.hpp"

namespace loom::cpu {

// The run-time shape of every node, from the shapes of the inputs; a dynamic extent that
// does not broadcast throws shape_error naming the op and both shapes.
template <class G>
void infer_shapes(call_frame<G::node_count>& f, const std::array<shape, G::node_count>& inputs) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using N = node_t<G, I>;
          constexpr node_kind kind = kind_of<N>();
          if constexpr (kind == node_kind::input) {
            f.shapes[I] = inputs[I];
          } else if constexpr (kind == node_kind::scalar || kind == node_kind::literal) {
            f.shapes[I] = shape{};
          } else {
            shape s = f.shapes[N::args[0]];
            for (std::size_t a = 1; a < N::arity; ++a)
              s = broadcast_shapes(s, f.shapes[N::args[a]], N::op_type::name);
            f.shapes[I] = s;
          }
        }(),
        ...);
  }
  (std::make_index_sequence<G::node_count>{});
}

// The outputs of one group are walked as one iteration space, so they must agree at run
// time as their static extents do; checked before anything is written.
template <class G>
void check_group_shapes(const call_frame<G::node_count>& f) {
  using plan = fusion_plan<G>;
  for (std::size_t k = 0; k < G::output_count; ++k)
    for (std::size_t j = 0; j < k; ++j) {
      const shape& a = f.shapes[G::outputs[j]];
      const shape& b = f.shapes[G::outputs[k]];
      if (plan::group_of_output[j] == plan::group_of_output[k] && !(a == b))
        throw shape_error("loom: outputs " + std::to_string(j) + " and " + std::to_string(k) +
                          " share static extents but differ at run time: " + a.to_string() +
                          " and " + b.to_string() +
                          "; give them distinct static extents or compile them apart");
    }
}

// Runs every group of the plan, writing output k of the graph to outputs[k].
template <class G>
void execute(const G& g,
             const call_frame<G::node_count>& f,
             const std::array<void*, G::output_count>& outputs,
             int threads) {
  [&]<std::size_t... Group>(std::index_sequence<Group...>) {
    (
        [&] {
          using nodes = group_nodes<G, Group>;
          std::array<void*, nodes::output_count> out;
          for (std::size_t k = 0; k < nodes::output_count; ++k) out[k] = outputs[nodes::outputs[k]];
          run_group<G, Group>(g, f, out, f.shapes[G::outputs[nodes::outputs[0]]], threads);
        }(),
        ...);
  }
  (std::make_index_sequence<fusion_plan<G>::group_count>{});
}

}  // namespace loom::cpu
