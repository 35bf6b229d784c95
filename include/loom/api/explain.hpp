#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <utility>

#include "loom/backends/common/evaluate.hpp"
#include "loom/export/group_end_text.hpp"
#include "loom/export/kind_name.hpp"
#include "loom/export/text.hpp"
#include "loom/graph/plan.hpp"

namespace loom {

namespace detail {

// What step S reads, computes and stores as the model's backend runs it: a backend may load
// a value the plan computes (the CPU's stashes, cpu/stash.hpp).
template <class Model, std::size_t S>
struct backend_reads {
  using type = common::plan_reads<typename Model::graph_type, S>;
};
template <class Model, std::size_t S>
requires requires {
  typename Model::template step_reads<S>;
}
struct backend_reads<Model, S> {
  using type = typename Model::template step_reads<S>;
};

template <std::size_t N>
struct step_reads_row {
  std::array<bool, N> loads, computes, stores;
  std::size_t stash, stash_into;
};

template <class Model>
constexpr auto reads_by_step() {
  using G = typename Model::graph_type;
  return []<std::size_t... S>(std::index_sequence<S...>) {
    return std::array<step_reads_row<G::node_count>, sizeof...(S)>{
        step_reads_row<G::node_count>{backend_reads<Model, S>::type::loads,
                                      backend_reads<Model, S>::type::computes,
                                      backend_reads<Model, S>::type::stores,
                                      backend_reads<Model, S>::type::stash,
                                      backend_reads<Model, S>::type::stash_into}...};
  }
  (std::make_index_sequence<fusion_plan<G>::step_count>{});
}

template <class Model>
std::string describe_step(std::size_t s) {
  using G = typename Model::graph_type;
  using plan = fusion_plan<G>;
  static constexpr auto reads = reads_by_step<Model>();
  const auto& step = plan::steps[s];
  std::string text;
  switch (step.kind) {
    case step_kind::map:
      text = "map";
      break;
    case step_kind::reduce:
      text = "reduce %" + std::to_string(step.node);
      break;
    case step_kind::matmul:
      text = "matmul %" + std::to_string(step.node) + " (GEMM)";
      break;
    case step_kind::call:
      text = std::string(kind_name(plan::nodes[step.node].kind)) + " %" + std::to_string(step.node);
      break;
  }
  auto list = [&](const auto& marks, const char* what) {
    std::string l;
    for (std::size_t i = 0; i < G::node_count; ++i)
      if (marks[i]) l += " %" + std::to_string(i);
    if (!l.empty()) text += std::string("; ") + what + l;
  };
  list(reads[s].loads, "reads");
  list(reads[s].computes, "computes");
  list(reads[s].stores, "writes");
  if (reads[s].stash != plan::npos)
    text += "; keeps %" + std::to_string(reads[s].stash) + " in the buffer of %" +
            std::to_string(reads[s].stash_into);
  return text;
}

}  // namespace detail

// What loom made of a compiled model: its nodes; its fusion groups (one loop nest or kernel
// each, or a call between them), the steps each runs over the same rows, and why each
// group ends; and its opaque nodes. The analog of torch._dynamo.explain, known at build time.
template <class Model>
std::string explain(const Model& model) {
  if constexpr (requires { model.apart(); })
    if (model.apart())
      return "two values of one type hold different run-time scalars or callables (copies of "
             "one value never do), so this model runs op by op, as eager mode does; a "
             "loom::lit or a rank-0 input for the scalars gives it this fused graph:\n" +
             explain(static_cast<const typename Model::shared_model&>(model));
  using G = typename Model::graph_type;
  using plan = fusion_plan<G>;
  std::string s = "graph: " + std::to_string(G::node_count) + " nodes, " +
                  std::to_string(Model::input_count) + " inputs, " +
                  std::to_string(G::output_count) + " outputs, " +
                  std::to_string(plan::kernel_count) + " kernels, " +
                  std::to_string(plan::group_count) + " groups\n";
  s += graph_to_text(model.graph());
  // `!=`, not `<`: group_count may be 0, where nvcc warns that `g < 0` is pointless.
  for (std::size_t g = 0; g != plan::group_count; ++g) {
    const auto& group = plan::groups[g];
    s += "group " + std::to_string(g) + (group.is_call ? " (call)" : " (fused pass)");
    if (!group.is_call && group.split != plan::npos && group.step_count > 1)
      s += ", row by row (rows: axes before " + std::to_string(group.split) + ")";
    s += "\n";
    for (std::size_t k = 0; k < group.step_count; ++k)
      s += "  step " + std::to_string(group.first_step + k) + ": " +
           detail::describe_step<Model>(group.first_step + k) + "\n";
    s += "  ends: " + std::string(group_end_text(group.end));
    if (group.end_node != plan::npos) s += " (at %" + std::to_string(group.end_node) + ")";
    s += "\n";
  }
  std::size_t fused = 0, calls = 0;
  for (const auto& n : plan::nodes) {
    fused += n.kind == node_kind::opaque;
    calls += n.kind == node_kind::opaque_call;
  }
  s += "opaque nodes: " + std::to_string(fused) + " element-wise (fused as calls), " +
       std::to_string(calls) + " whole-tensor (barriers)\n";
  return s;
}

}  // namespace loom
