#pragma once

#include <algorithm>
#include <array>
#include <cstddef>

#include "loom/backends/common/frame.hpp"

namespace loom::common {

// Where each value a step reads sits at the start of a row segment, and how far apart its
// consecutive elements are along the row (1 dense, 0 broadcast, else strided). Indexed by
// node, but only the step's loaded values are ever written or read: the arrays are left
// uninitialised, since zeroing them (N entries, N the graph's node count) on each row
// segment cost more than the segment's work in small passes of large graphs.
template <std::size_t N>
struct row_sources {
  std::array<const void*, N> data;
  std::array<std::ptrdiff_t, N> step;
};

// A step's iteration space after dropping extents of 1 and merging axes that every value it
// reads walks as one: outer axes and one inner row, walked in SIMD blocks. Elements are
// numbered in row-major order of the space; outputs are contiguous in that order.
// The per-value arrays are indexed by node and hold the values the step reads only; as in
// row_sources, they are not zeroed: a nest is built per step on each call.
template <std::size_t N>
struct loop_nest {
  std::size_t rank = 0;
  std::array<std::size_t, max_rank> dims{};
  std::array<std::array<std::ptrdiff_t, max_rank>, N> stride;
  std::array<const unsigned char*, N> base;
  std::array<std::size_t, N> element_size;
  bool dense = true;  // every value read is contiguous along the row

  std::size_t inner() const { return rank == 0 ? 1 : dims[rank - 1]; }
};

// The step along a pass's rows of a value whose last static extent is `own`, in a pass whose
// last static extent is `last`, where the static extents fix it: 0 for one value per row (an
// extent of 1 where the pass's is larger), 1 for a row as long as the pass's (if the value is
// contiguous), -1 where only the run-time layout tells. The fused evaluator and eager mode
// both take it from here: a known step of 0 is what makes a division multiply by the inverse,
// so both must agree on it to round alike.
constexpr int row_step_of_extents(std::size_t last, std::size_t own) {
  if (last == dyn || last == 1 || own == dyn) return -1;
  if (own == 1) return 0;
  return own == last ? 1 : -1;
}

// Where one value a nest reads lives: its layout (in its own axes, which broadcast into the
// space's trailing ones), its buffer and the size of its elements.
struct nest_source {
  const layout* where;
  const void* data;
  std::size_t element_size;
};

// The nest over `space` of the values `read` lists (indices into the nest's arrays), walked in
// the axis order `order` (a reduction walks its kept axes first and its reduced axes last, so
// each output element is one range). `source(i)` says where value i lives. Axis `row_start` of
// the walk is never merged into the axes before it, so every row of a group starts a row of
// the nest: each element then falls in the same SIMD block or scalar tail however rows are
// split over threads, and results do not depend on the thread count.
template <std::size_t N, std::size_t L, class Source>
loop_nest<N> nest_over(const shape& space,
                       const std::array<std::size_t, max_rank>& order,
                       std::size_t row_start,
                       const std::array<std::size_t, L>& read,
                       Source&& source) {
  // Strides of every value read in the space's axes; 0 along broadcast axes.
  std::array<std::array<std::ptrdiff_t, max_rank>, N> stride;
  for (std::size_t i : read) {
    const layout& l = *source(i).where;
    const std::size_t lead = space.rank - l.dims.rank;
    for (std::size_t d = 0; d < space.rank; ++d) {
      const std::size_t axis = order[d];
      stride[i][d] = axis < lead || l.dims.dims[axis - lead] == 1 ? 0 : l.stride[axis - lead];
    }
  }
  loop_nest<N> nest;
  bool at_row_start = false;
  for (std::size_t d = 0; d < space.rank; ++d) {
    at_row_start = at_row_start || d == row_start;
    const std::size_t extent = space.dims[order[d]];
    if (extent == 1) continue;
    bool joins = nest.rank > 0 && !at_row_start;
    at_row_start = false;
    for (std::size_t i : read)
      joins = joins && nest.stride[i][nest.rank - 1] == stride[i][d] * std::ptrdiff_t(extent);
    if (joins) {
      nest.dims[nest.rank - 1] *= extent;
      for (std::size_t i : read) nest.stride[i][nest.rank - 1] = stride[i][d];
    } else {
      nest.dims[nest.rank] = extent;
      for (std::size_t i : read) nest.stride[i][nest.rank] = stride[i][d];
      ++nest.rank;
    }
  }
  for (std::size_t i : read) {
    const nest_source s = source(i);
    nest.element_size[i] = s.element_size;
    nest.base[i] = static_cast<const unsigned char*>(s.data) +
                   s.where->offset * std::ptrdiff_t(s.element_size);
    if (nest.rank > 0 && nest.stride[i][nest.rank - 1] != 1) nest.dense = false;
  }
  return nest;
}

// The nest of a step: the values `Reads` names, each from its buffer, or through the view
// where the step materialises a view.
template <class G, class Reads>
loop_nest<G::node_count> make_loop_nest(const call_frame<G::node_count>& f,
                                        const shape& space,
                                        const std::array<std::size_t, max_rank>& order,
                                        std::size_t row_start) {
  using plan = fusion_plan<G>;
  constexpr std::size_t N = G::node_count;
  // The values the step reads, as a list: the nest is built on every call, so its loops run
  // over these only.
  static constexpr auto read = [] {
    constexpr std::size_t count = [] {
      std::size_t c = 0;
      for (bool b : Reads::loads) c += b;
      return c;
    }();
    std::array<std::size_t, count> list{};
    std::size_t c = 0;
    for (std::size_t i = 0; i < N; ++i)
      if (Reads::loads[i]) list[c++] = i;
    return list;
  }();
  return nest_over<N>(space, order, row_start, read, [&](std::size_t i) {
    const bool through_view = Reads::stores[i] && plan::nodes[i].kind == node_kind::view;
    return through_view
               ? nest_source{&f.view_layouts[i], f.view_data[i], plan::nodes[i].element_size}
               : nest_source{&f.layouts[i], f.data[i], plan::nodes[i].element_size};
  });
}

inline std::array<std::size_t, max_rank> identity_order() {
  return {0, 1, 2, 3};
}

}  // namespace loom::common
