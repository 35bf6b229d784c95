#pragma once

#include <cstddef>
#include <string>

#include "loom/export/text.hpp"
#include "loom/graph/plan.hpp"

namespace loom {

// What loom made of a compiled model: its nodes, its fusion groups (one loop nest or kernel
// each) with the nodes they compute and why each ends, and its opaque nodes. The analog of
// torch._dynamo.explain, known at build time.
template <class Model>
std::string explain(const Model& model) {
  using G = typename Model::graph_type;
  using plan = fusion_plan<G>;
  std::string s = "graph: " + std::to_string(G::node_count) + " nodes, " +
                  std::to_string(Model::input_count) + " inputs, " +
                  std::to_string(G::output_count) + " outputs, " +
                  std::to_string(plan::kernel_count) + " kernels\n";
  s += graph_to_text(model.graph());
  std::size_t opaque = 0;
  for (const auto& n : plan::nodes) opaque += n.kind == node_kind::opaque;
  for (std::size_t g = 0; g < plan::group_count; ++g) {
    s += "group " + std::to_string(g) + ": computes";
    for (std::size_t i = 0; i < G::node_count; ++i)
      if (plan::needed[g][i]) s += " %" + std::to_string(i);
    s += "; writes";
    for (std::size_t k = 0; k < G::output_count; ++k)
      if (plan::group_of_output[k] == g) s += " %" + std::to_string(G::outputs[k]);
    s += "; ends: " + std::string(plan::group_end_reason(g)) + "\n";
  }
  s += "opaque nodes: " + std::to_string(opaque) + " (element-wise, fused as calls; no barrier)\n";
  return s;
}

}  // namespace loom
