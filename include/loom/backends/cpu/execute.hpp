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

// An impure callable must run once per element of its value, as in eager mode; inside a
// group that walks a larger, broadcast shape it would run once per element of that shape.
template <class G>
void check_impure_shapes(const call_frame<G::node_count>& f) {
  using plan = fusion_plan<G>;
  for (std::size_t k = 0; k < G::output_count; ++k) {
    const shape& space = f.shapes[G::outputs[k]];
    for (std::size_t i = 0; i < G::node_count; ++i)
      if (plan::nodes[i].impure && plan::needed[plan::group_of_output[k]][i] &&
          f.shapes[i].size() != space.size())
        throw trace_error("loom: impure opaque node %" + std::to_string(i) + " computes " +
                          f.shapes[i].to_string() + " elements inside a pass over " +
                          space.to_string() +
                          "; broadcasting would call it once per output element");
  }
}

// A later group must not read an input that an earlier group already overwrote: running in
// place is allowed only where no group reads an input after another wrote over it.
template <class G>
void check_in_place(const call_frame<G::node_count>& f,
                    const std::array<void*, G::output_count>& outputs) {
  using plan = fusion_plan<G>;
  for (std::size_t k = 0; k < G::output_count; ++k) {
    const auto* out = static_cast<const unsigned char*>(outputs[k]);
    const std::size_t out_bytes =
        f.shapes[G::outputs[k]].size() * plan::nodes[G::outputs[k]].element_size;
    for (std::size_t i = 0; i < G::node_count; ++i) {
      if (plan::nodes[i].kind != node_kind::input) continue;
      const auto* in = static_cast<const unsigned char*>(f.data[i]);
      const std::size_t in_bytes = f.shapes[i].size() * plan::nodes[i].element_size;
      if (in >= out + out_bytes || out >= in + in_bytes) continue;
      for (std::size_t g = plan::group_of_output[k] + 1; g < plan::group_count; ++g)
        if (plan::needed[g][i])
          throw error("loom: output " + std::to_string(k) +
                      " overlaps an input that a later fusion group reads; run it into "
                      "another buffer");
    }
  }
}

// Runs every group of the plan, writing output k of the graph to outputs[k].
template <class G>
void execute(const G& g,
             const call_frame<G::node_count>& f,
             const std::array<void*, G::output_count>& outputs,
             int threads) {
  check_in_place<G>(f, outputs);
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
