#pragma once

#include <algorithm>
#include <array>
#include <cstddef>

#include "loom/backends/cpu/frame.hpp"

namespace loom::cpu {

// Where each value a step reads sits at the start of a row segment, and how far apart its
// consecutive elements are along the row (1 dense, 0 broadcast, else strided).
template <std::size_t N>
struct row_sources {
  std::array<const void*, N> data{};
  std::array<std::ptrdiff_t, N> step{};
};

// A step's iteration space after dropping extents of 1 and merging axes that every value it
// reads walks as one: outer axes and one inner row, walked in SIMD blocks. Elements are
// numbered in row-major order of the space; outputs are contiguous in that order.
template <std::size_t N>
struct loop_nest {
  std::size_t rank = 0;
  std::array<std::size_t, max_rank> dims{};
  std::array<std::array<std::ptrdiff_t, max_rank>, N> stride{};
  std::array<const unsigned char*, N> base{};
  std::array<std::size_t, N> element_size{};
  bool dense = true;  // every value read is contiguous along the row

  std::size_t inner() const { return rank == 0 ? 1 : dims[rank - 1]; }
};

// The nest of a step (the values `Reads` names) over `space`, walked in the axis order `order` (a
// reduction walks its kept axes first and its reduced axes last, so each output element is one
// range). Axis `row_start` of the walk is never merged into the axes before it, so every row of a
// group starts a row of the nest: each element then falls in the same SIMD block or scalar
// tail however rows are split over threads, and results do not depend on the thread count.
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
  // A view this step materialises is read through the view; every other value from its own
  // buffer.
  auto through_view = [&](std::size_t i) {
    return Reads::stores[i] && plan::nodes[i].kind == node_kind::view;
  };
  // Strides of every value read in the space's axes; 0 along broadcast axes.
  std::array<std::array<std::ptrdiff_t, max_rank>, N> stride;
  for (std::size_t i : read) {
    const layout& l = through_view(i) ? f.view_layouts[i] : f.layouts[i];
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
    nest.element_size[i] = plan::nodes[i].element_size;
    const layout& l = through_view(i) ? f.view_layouts[i] : f.layouts[i];
    nest.base[i] = static_cast<const unsigned char*>(through_view(i) ? f.view_data[i] : f.data[i]) +
                   l.offset * std::ptrdiff_t(nest.element_size[i]);
    if (nest.rank > 0 && nest.stride[i][nest.rank - 1] != 1) nest.dense = false;
  }
  return nest;
}

inline std::array<std::size_t, max_rank> identity_order() {
  return {0, 1, 2, 3};
}

// Elements per block of the fused loop: four AVX-512 registers of float, enough independent
// work to hide the latency of exp/tanh, few enough to stay in registers.
inline constexpr int block_width = 64;

// How `count` elements, the first of them `at` elements into a row of the nest, split into
// single elements (`head`), whole SIMD blocks (`blocks`) and single elements again. Blocks
// start at multiples of block_width from the row's start, so which path an element takes
// (and so its rounding) never depends on where a range of rows was cut, for threads or for a
// group's row blocks.
struct block_split {
  std::size_t head, blocks;
};
inline block_split split_blocks(std::size_t count, std::size_t at) {
  const std::size_t head = std::min(count, (block_width - at % block_width) % block_width);
  return {head, (count - head) / block_width};
}

template <class Block, class Single>
LOOM_INLINE void for_each_block(std::size_t count, std::size_t at, Block&& block, Single&& single) {
  const block_split s = split_blocks(count, at);
  std::size_t j = 0;
  for (; j < s.head; ++j) single(j);
  for (std::size_t b = 0; b < s.blocks; ++b, j += block_width) block(j);
  for (; j < count; ++j) single(j);
}

// Calls `segment(src, count, first, at)` for each piece of elements [begin, end) that lies
// in one row of the nest: `src` points at element `first`, `at` elements into its row, and
// the piece has `count` elements.
// `leaves` lists the values the step reads. The row's position is computed once and then
// stepped from row to row, so a pass over many short rows (a softmax's) pays a few additions
// per row, not a division per value.
template <std::size_t N, std::size_t L, class Segment>
void for_each_segment(const loop_nest<N>& nest,
                      std::size_t begin,
                      std::size_t end,
                      const std::array<std::size_t, L>& leaves,
                      Segment&& segment) {
  if (begin >= end) return;
  const std::size_t inner = nest.inner();
  const std::size_t last = nest.rank == 0 ? 0 : nest.rank - 1;
  std::size_t at = begin % inner;
  std::array<std::size_t, max_rank> index{};
  for (std::size_t rest = begin / inner, d = last; d-- > 0;) {
    index[d] = rest % nest.dims[d];
    rest /= nest.dims[d];
  }
  std::array<std::ptrdiff_t, L> offset{};
  row_sources<N> src;
  for (std::size_t k = 0; k < L; ++k) {
    for (std::size_t d = 0; d < last; ++d)
      offset[k] += std::ptrdiff_t(index[d]) * nest.stride[leaves[k]][d];
    src.step[leaves[k]] = nest.rank == 0 ? 0 : nest.stride[leaves[k]][last];
  }
  for (std::size_t e = begin; e < end;) {
    const std::size_t count = std::min(inner - at, end - e);
    for (std::size_t k = 0; k < L; ++k) {
      const std::size_t i = leaves[k];
      src.data[i] = nest.base[i] + (offset[k] + std::ptrdiff_t(at) * src.step[i]) *
                                       std::ptrdiff_t(nest.element_size[i]);
    }
    segment(src, count, e, at);
    e += count;
    at = 0;
    for (std::size_t d = last; d-- > 0;) {
      const bool wraps = ++index[d] == nest.dims[d];
      for (std::size_t k = 0; k < L; ++k)
        offset[k] += nest.stride[leaves[k]][d] * (wraps ? 1 - std::ptrdiff_t(nest.dims[d]) : 1);
      if (!wraps) break;
      index[d] = 0;
    }
  }
}

}  // namespace loom::cpu
