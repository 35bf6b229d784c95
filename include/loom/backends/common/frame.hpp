#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "loom/core/layout.hpp"
#include "loom/core/shape.hpp"
#include "loom/graph/plan.hpp"

namespace loom::common {

// The run-time facts of one call: every node's shape, and for every value read from memory
// its buffer and its layout in that buffer. A view that is also materialised has its own
// buffer; the step that fills it reads through the view, from `view_data` and `view_layouts`.
template <std::size_t N>
struct call_frame {
  std::array<shape, N> shapes{};
  std::array<layout, N> layouts{};
  std::array<void*, N> data{};
  std::array<layout, N> view_layouts{};
  std::array<void*, N> view_data{};
};

// What a step is built from: the call's frame, and the axis from which its nest keeps the
// group's rows apart (make_loop_nest). group_rows builds each step in place from one: a step
// holds a loop nest of a few kilobytes in a large graph, and a copy of each per call showed
// in the profile of a training step.
template <std::size_t N>
struct step_args {
  const call_frame<N>& frame;
  std::size_t row_start;
};

namespace detail {

template <class G, std::size_t I, std::size_t... A>
shape shape_of_node(const call_frame<G::node_count>& f, std::index_sequence<A...>) {
  using N = node_t<G, I>;
  using Op = typename N::op_type;
  constexpr node_kind kind = kind_of<N>();
  if constexpr (kind == node_kind::elementwise || kind == node_kind::opaque) {
    shape s = f.shapes[N::args[0]];
    for (std::size_t a = 1; a < N::arity; ++a)
      s = broadcast_shapes(s, f.shapes[N::args[a]], Op::name);
    return s;
  } else if constexpr (kind == node_kind::opaque_call) {
    return Op::template result_shape<typename node_t<G, N::args[A]>::extents_type...>(
        f.shapes[N::args[A]]...);
  } else {
    return Op::result_shape(f.shapes[N::args[A]]...);
  }
}

// Whether element-wise node I and its operands all have static extents. Its shape is then
// fixed when the model is traced (the operands' static extents were checked to broadcast
// then), and broadcasting the operands' shapes on each call would only find it again. Where
// an operand's extent is dynamic, the call must check that it broadcasts.
template <class G, std::size_t I, std::size_t... A>
constexpr bool broadcast_is_static(std::index_sequence<A...>) {
  using N = node_t<G, I>;
  return N::extents_type::rank_dynamic == 0 &&
         ((node_t<G, N::args[A]>::extents_type::rank_dynamic == 0) && ...);
}

[[noreturn]] LOOM_COLD inline void throw_empty_reduction(std::string_view name, const shape& in) {
  throw shape_error("loom: " + std::string(name) + " over an empty axis of " + in.to_string() +
                    " has no value");
}

// max, min and argmax have no value over an empty axis.
template <class G, std::size_t I>
void check_reduction_not_empty(const call_frame<G::node_count>& f) {
  using N = node_t<G, I>;
  using Op = typename N::op_type;
  const shape& in = f.shapes[N::args[0]];
  if constexpr (!Op::empty_allowed)
    if (in.size() == 0 && f.shapes[I].size() != 0) throw_empty_reduction(Op::name, in);
}

}  // namespace detail

// The run-time shape of every node, from the shapes of the inputs (already in f.shapes);
// a mismatch throws shape_error naming the op and both shapes.
template <class G>
void infer_shapes(call_frame<G::node_count>& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using N = node_t<G, I>;
          constexpr node_kind kind = kind_of<N>();
          if constexpr (kind == node_kind::scalar || kind == node_kind::literal) {
            f.shapes[I] = shape{};
          } else if constexpr ((kind == node_kind::elementwise || kind == node_kind::opaque) &&
                               detail::broadcast_is_static<G, I>(
                                   std::make_index_sequence<N::arity>{})) {
            constexpr shape fixed = loom::detail::static_shape<typename N::extents_type>();
            f.shapes[I] = fixed;
          } else if constexpr (kind != node_kind::input) {
            f.shapes[I] = detail::shape_of_node<G, I>(f, std::make_index_sequence<N::arity>{});
            if constexpr (kind == node_kind::reduction) detail::check_reduction_not_empty<G, I>(f);
          }
        }(),
        ...);
  }
  (std::make_index_sequence<G::node_count>{});
}

// Where each view reads: its base's buffer, through the view's index map applied to its
// operand's layout. Plain values (inputs, materialised values) are contiguous; with static
// extents, their layout is a constant (a node's run-time shape is always its static extents).
template <class G>
void resolve_layouts(call_frame<G::node_count>& f) {
  using plan = fusion_plan<G>;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using N = node_t<G, I>;
          if constexpr (kind_of<N>() == node_kind::view) {
            f.view_layouts[I] = N::op_type::view_layout(f.layouts[N::args[0]]);
            f.view_data[I] = f.data[N::args[0]];
            if (!plan::plain(I)) {
              f.layouts[I] = f.view_layouts[I];
              f.data[I] = f.view_data[I];
              return;
            }
          }
          using E = typename N::extents_type;
          if constexpr (E::rank_dynamic == 0) {
            constexpr layout fixed = layout::contiguous(loom::detail::static_shape<E>());
            f.layouts[I] = fixed;
          } else {
            f.layouts[I] = layout::contiguous(f.shapes[I]);
          }
        }(),
        ...);
  }
  (std::make_index_sequence<G::node_count>{});
}

}  // namespace loom::common
