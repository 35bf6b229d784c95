#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <type_traits>
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

// In a gradient model: the nodes of its backward pass (the cotangent_seed and all that depend
// on it), and the forward values it saves: values the plan keeps in memory (GEMM results,
// reductions, whole-tensor calls' operands and results, ...) that a backward node reads.
// The other forward values the backward pass needs are recomputed inside its fused loops.
template <class G>
struct backward_part {
  using plan = fusion_plan<G>;
  static constexpr auto is_seed = []<std::size_t... I>(std::index_sequence<I...>) {
    return std::array<bool, G::node_count>{
        std::is_same_v<typename node_t<G, I>::op_type, ops::cotangent_seed>...};
  }
  (std::make_index_sequence<G::node_count>{});
  static constexpr auto nodes = [] {
    std::array<bool, G::node_count> b{};
    for (std::size_t i = 0; i != G::node_count; ++i) {
      b[i] = is_seed[i];
      for (std::size_t k = 0; k < plan::nodes[i].arity; ++k)
        b[i] = b[i] || b[plan::nodes[i].args[k]];
    }
    return b;
  }();
  // A step belongs to the backward pass where it computes or produces a backward node; the
  // forward values such a step reads from memory are the saved ones.
  static constexpr bool backward_step(std::size_t s) {
    bool b = nodes[plan::steps[s].node];
    for (std::size_t i = 0; i != G::node_count; ++i)
      b = b || (plan::per_step.computes[s][i] && nodes[i]);
    return b;
  }
  // The buffer a value is read from: a view's is its operand's, unless the plan copies it.
  static constexpr std::size_t buffer_of(std::size_t i) {
    while (plan::nodes[i].kind == node_kind::view && !plan::materialized[i])
      i = plan::nodes[i].args[0];
    return i;
  }
  static constexpr auto saved = [] {
    std::array<bool, G::node_count> saved{};
    auto read = [&](std::size_t i) {
      i = buffer_of(i);
      saved[i] = saved[i] || (!nodes[i] && plan::nodes[i].kind != node_kind::input);
    };
    for (std::size_t s = 0; s != plan::step_count; ++s) {
      if (!backward_step(s)) continue;
      for (std::size_t i = 0; i != G::node_count; ++i)
        if (plan::per_step.loads[s][i]) read(i);
      // A GEMM or a call reads its operands' buffers itself.
      const auto& n = plan::nodes[plan::steps[s].node];
      if (plan::steps[s].kind == step_kind::matmul || plan::steps[s].kind == step_kind::call)
        for (std::size_t k = 0; k < n.arity; ++k) read(n.args[k]);
    }
    return saved;
  }();
};

// The bytes of a value of node type N over its static extents, and how many are dyn.
template <class N>
struct static_size {
  using E = typename N::extents_type;
  static constexpr std::size_t bytes = [] {
    std::size_t b = sizeof(typename N::value_type);
    for (std::size_t d : E::dims) b *= d == dyn ? 1 : d;
    return b;
  }();
  static constexpr std::size_t dyn_extents = E::rank_dynamic;
};

// "f32[32, 128], 16384 bytes", or with dyn extents "f32[?, 128], 512 bytes per ?".
template <class N>
std::string size_text() {
  std::string per;
  for (std::size_t k = 0; k != static_size<N>::dyn_extents; ++k) per += k ? " x ?" : " per ?";
  return type_string<N>() + ", " + std::to_string(static_size<N>::bytes) + " bytes" + per;
}

// The saved list: one line per value, then the total.
template <class G>
std::string saved_text() {
  using part = backward_part<G>;
  std::string lines;
  std::size_t count = 0, static_bytes = 0;
  bool partial = false;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          if constexpr (part::saved[I]) {
            using N = node_t<G, I>;
            lines += "  %" + std::to_string(I) + " " + size_text<N>() + "\n";
            ++count;
            static_bytes += static_size<N>::bytes;
            partial = partial || static_size<N>::dyn_extents > 0;
          }
        }(),
        ...);
  }
  (std::make_index_sequence<G::node_count>{});
  std::string head =
      "saved for the backward pass: " + std::to_string(count) + (count == 1 ? " value" : " values");
  if (count > 0 && !partial) head += ", " + std::to_string(static_bytes) + " bytes";
  return head + "\n" + lines;
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
  constexpr auto& seeds = detail::backward_part<G>::is_seed;
  if constexpr (std::find(seeds.begin(), seeds.end(), true) != seeds.end())
    s += detail::saved_text<G>();
  return s;
}

}  // namespace loom
