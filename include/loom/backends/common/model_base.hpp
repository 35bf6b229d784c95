#pragma once

#include <cstddef>
#include <utility>

#include "loom/graph/impure.hpp"
#include "loom/graph/plan.hpp"

namespace loom::detail {

// What a compiled model is on every backend: the graph, with the copies of each impure call
// linked, and its plan and counts, all fixed at compile time.
template <class G, class... Inputs>
class model_base {
 public:
  using graph_type = G;
  using plan = fusion_plan<G>;
  static constexpr std::size_t node_count = G::node_count;
  static constexpr std::size_t input_count = sizeof...(Inputs);
  static constexpr std::size_t output_count = G::output_count;
  // Passes over memory (CPU loop nests, GPU kernels) one call makes; fixed at compile time.
  static constexpr std::size_t kernel_count = plan::kernel_count;

  explicit model_base(G g) : graph_(std::move(g)) { link_reused_impure_nodes(graph_); }

  const G& graph() const { return graph_; }

 protected:
  G graph_;
};

}  // namespace loom::detail
