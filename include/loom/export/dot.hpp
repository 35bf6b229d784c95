#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "loom/export/group_end_text.hpp"
#include "loom/export/text.hpp"
#include "loom/graph/plan.hpp"

namespace loom {

namespace detail {

// A DOT quoted string. Type names of opaque callables bring `<>:{}` and quotes; only `"` and
// `\` are special inside quotes, and a newline becomes DOT's centred line break.
inline std::string dot_quote(std::string_view s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '\n') {
      q += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + '"';
}

// The cluster a node is drawn in (see to_dot): the group of the step that produces it, or
// else the first group that computes it in registers; npos for values read from memory.
template <class G>
constexpr std::size_t drawn_group(std::size_t i) {
  using plan = fusion_plan<G>;
  if (plan::step_of[i] != plan::npos) return plan::group_of_step(plan::step_of[i]);
  // `!=`, not `<`: step_count may be 0, where nvcc warns that `s < 0` is pointless.
  for (std::size_t s = 0; s != plan::step_count; ++s)
    if (plan::per_step.computes[s][i]) return plan::group_of_step(s);
  return plan::npos;
}

// Inputs point into the graph; scalars and literals are plain text; opaque nodes are filled
// boxes, darker for the whole-tensor ones that break fusion; hooks and barriers are octagons.
inline std::string_view dot_node_style(node_kind k) {
  switch (k) {
    case node_kind::input:
      return "shape=invhouse";
    case node_kind::scalar:
    case node_kind::literal:
      return "shape=plaintext";
    case node_kind::opaque:
      return "shape=box, style=filled, fillcolor=\"#fff2b3\"";
    case node_kind::opaque_call:
      return "shape=box, style=filled, fillcolor=\"#f4a582\"";
    case node_kind::hook:
    case node_kind::barrier:
      return "shape=octagon";
    default:
      return "shape=ellipse";
  }
}

// One node statement; outputs get a double border and say which results they are.
template <class G, std::size_t I>
std::string dot_node(const G& g) {
  std::string label =
      '%' + std::to_string(I) + ' ' + describe_op<G, I>(g) + '\n' + type_string<node_t<G, I>>();
  std::string results;
  for (std::size_t k = 0; k < G::output_count; ++k)
    if (G::outputs[k] == I) results += (results.empty() ? "" : ", ") + std::to_string(k);
  std::string attrs(dot_node_style(fusion_plan<G>::nodes[I].kind));
  if (!results.empty()) {
    label += "\noutput " + results;
    attrs += ", peripheries=2";
  }
  return 'n' + std::to_string(I) + " [label=" + dot_quote(label) + ", " + attrs + "];";
}

}  // namespace detail

// The graph and its fusion plan as Graphviz DOT: one node per graph node with an edge from
// each operand, and one cluster per fusion group, labelled with how it runs and why it ends.
// A graph node is drawn once, so an element-wise value that several groups recompute in
// registers sits in the first group that computes it; values that no group computes (inputs,
// views read in place through their index maps) sit outside every cluster.
template <class Model>
std::string to_dot(const Model& compiled) {
  using G = typename Model::graph_type;
  using plan = fusion_plan<G>;
  std::array<std::string, G::node_count> node;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((node[I] = detail::dot_node<G, I>(compiled.graph())), ...);
  }
  (std::make_index_sequence<G::node_count>{});

  std::string dot = "digraph loom {\n  node [fontname=\"monospace\"];\n";
  for (std::size_t i = 0; i < G::node_count; ++i)
    if (detail::drawn_group<G>(i) == plan::npos) dot += "  " + node[i] + "\n";
  for (std::size_t gr = 0; gr != plan::group_count; ++gr) {
    const auto& group = plan::groups[gr];
    std::string label = "group " + std::to_string(gr) +
                        (group.is_call ? ": call" : ": fused pass") +
                        "\nends: " + std::string(group_end_text(group.end));
    if (group.end_node != plan::npos) label += " (at %" + std::to_string(group.end_node) + ")";
    dot += "  subgraph cluster_" + std::to_string(gr) +
           " {\n    label=" + detail::dot_quote(label) +
           ";\n    style=" + (group.is_call ? "dashed" : "rounded") + ";\n";
    for (std::size_t i = 0; i < G::node_count; ++i)
      if (detail::drawn_group<G>(i) == gr) dot += "    " + node[i] + "\n";
    dot += "  }\n";
  }
  for (std::size_t i = 0; i < G::node_count; ++i)
    for (std::size_t j = 0; j < plan::nodes[i].arity; ++j)
      dot += "  n" + std::to_string(plan::nodes[i].args[j]) + " -> n" + std::to_string(i) + ";\n";
  return dot + "}\n";
}

}  // namespace loom
