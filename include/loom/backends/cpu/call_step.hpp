#pragma once

#include <cstddef>
#include <cstring>
#include <utility>

#include "loom/backends/common/frame.hpp"
#include "loom/tensor/tensor.hpp"

namespace loom::cpu {

// A call step: a node that runs once per call on materialised tensors, between fused
// groups. Whole-tensor opaque F gets a read-only view of each input and a view of its
// result; a hook hands its operand to the callback; a barrier only materialises. A hook or
// barrier's value is its operand's buffer, copied only where it is also a model output.
template <class G, std::size_t Step>
struct call_step {
  using plan = fusion_plan<G>;
  static constexpr std::size_t N = G::node_count;
  static constexpr std::size_t node = plan::steps[Step].node;
  using node_type = node_t<G, node>;
  using op = typename node_type::op_type;
  using T = typename node_type::value_type;

  template <std::size_t I>
  static auto view_of(const common::call_frame<N>& f) {
    using V = node_t<G, I>;
    return tensor_view<const typename V::value_type, typename V::extents_type>(
        static_cast<const typename V::value_type*>(f.data[I]), f.shapes[I]);
  }

  static void run(const G& g, const common::call_frame<N>& f) {
    const auto& n = node_at<node>(g.nodes);
    constexpr node_kind kind = kind_of<node_type>();
    auto* out = static_cast<T*>(f.data[node]);
    if constexpr (kind == node_kind::opaque_call) {
      // Another copy of this call ran already (see link_reused_impure_nodes).
      if (n.op.alias != n.op.no_alias) {
        copy_from(f, n.op.alias);
        return;
      }
      [&]<std::size_t... A>(std::index_sequence<A...>) {
        n.op.f(view_of<node_type::args[A]>(f)...,
               tensor_view<T, typename node_type::extents_type>(out, f.shapes[node]));
      }
      (std::make_index_sequence<node_type::arity>{});
    } else {
      if constexpr (kind == node_kind::hook)
        if (n.op.alias == n.op.no_alias) n.op.callback(view_of<node_type::args[0]>(f));
      if (f.data[node] != f.data[node_type::args[0]]) copy_from(f, node_type::args[0]);
    }
  }

  static void copy_from(const common::call_frame<N>& f, std::size_t from) {
    if (f.data[from] != f.data[node])
      std::memcpy(f.data[node], f.data[from], f.shapes[node].size() * sizeof(T));
  }
};

}  // namespace loom::cpu
