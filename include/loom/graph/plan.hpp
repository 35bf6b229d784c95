#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <utility>

#include "loom/graph/flatten.hpp"

namespace loom {

// What a node is, as the planner and explain() see it.
enum class node_kind { input, scalar, literal, elementwise, opaque };

template <class N>
constexpr node_kind kind_of() {
  using Op = typename N::op_type;
  if constexpr (detail::is_input_leaf_v<Op>)
    return node_kind::input;
  else if constexpr (is_scalar_leaf_v<Op>)
    return node_kind::scalar;
  else if constexpr (is_literal_leaf_v<Op>)
    return node_kind::literal;
  else if constexpr (ops::is_opaque_v<Op>)
    return node_kind::opaque;
  else
    return node_kind::elementwise;
}

// The fusion plan of a graph, computed at compile time.
//
// Every node of this release is element-wise, so one pass over the output's elements can
// compute all of them: a group is the set of outputs that share static extents (and so one
// iteration space), with every node they depend on. Outputs of other static extents start a
// new group. The reason each group ends is kept for explain().
template <class G>
struct fusion_plan {
  static constexpr std::size_t node_count = G::node_count;
  static constexpr std::size_t output_count = G::output_count;

  struct node_info {
    node_kind kind;
    std::size_t arity;
    std::array<std::size_t, max_operands> args;
    std::size_t rank;
    std::array<std::size_t, max_rank> dims;
    bool impure;
    std::size_t element_size;
  };

  template <std::size_t I>
  static constexpr node_info info_of() {
    using N = node_t<G, I>;
    node_info r{kind_of<N>(),
                N::arity,
                {},
                N::extents_type::rank,
                {},
                false,
                sizeof(typename N::value_type)};
    for (std::size_t a = 0; a < N::arity; ++a) r.args[a] = N::args[a];
    for (std::size_t d = 0; d < N::extents_type::rank; ++d) r.dims[d] = N::extents_type::dims[d];
    if constexpr (ops::is_opaque_v<typename N::op_type>) r.impure = !N::op_type::is_pure;
    return r;
  }

  static constexpr auto nodes = []<std::size_t... I>(std::index_sequence<I...>) {
    return std::array<node_info, node_count>{info_of<I>()...};
  }
  (std::make_index_sequence<node_count>{});

  static constexpr bool same_extents(std::size_t a, std::size_t b) {
    if (nodes[a].rank != nodes[b].rank) return false;
    for (std::size_t d = 0; d < nodes[a].rank; ++d)
      if (nodes[a].dims[d] != nodes[b].dims[d]) return false;
    return true;
  }

  // group_of_output[k]: the group that writes output k. Groups are numbered in the order
  // of the first output they write.
  static constexpr auto group_of_output = [] {
    std::array<std::size_t, output_count> g{};
    std::size_t groups = 0;
    for (std::size_t k = 0; k < output_count; ++k) {
      g[k] = groups;
      for (std::size_t j = 0; j < k; ++j)
        if (same_extents(G::outputs[j], G::outputs[k])) {
          g[k] = g[j];
          break;
        }
      if (g[k] == groups) ++groups;
    }
    return g;
  }();

  static constexpr std::size_t group_count = [] {
    std::size_t n = 0;
    for (auto g : group_of_output) n = g + 1 > n ? g + 1 : n;
    return n;
  }();

  // Each group is one loop nest on the CPU and one kernel on the GPU.
  static constexpr std::size_t kernel_count = group_count;

  static constexpr bool has_impure = [] {
    for (const auto& n : nodes)
      if (n.impure) return true;
    return false;
  }();

  // needed[g][i]: group g computes node i (it is an output of g or one of their inputs).
  static constexpr auto needed = [] {
    std::array<std::array<bool, node_count>, group_count> need{};
    for (std::size_t k = 0; k < output_count; ++k) need[group_of_output[k]][G::outputs[k]] = true;
    for (auto& mark : need)
      for (std::size_t i = node_count; i-- > 0;)
        if (mark[i])
          for (std::size_t a = 0; a < nodes[i].arity; ++a) mark[nodes[i].args[a]] = true;
    return need;
  }();

  static constexpr std::string_view group_end_reason(std::size_t g) {
    return g + 1 == group_count ? "end of graph"
                                : "the next outputs have other static extents (another "
                                  "iteration space)";
  }
};

}  // namespace loom
