#pragma once

#include <algorithm>
#include <array>
#include <cstddef>

#include "loom/backends/common/loop_nest.hpp"
#include "loom/backends/cpu/threads.hpp"
#include "loom/core/config.hpp"

namespace loom::cpu {

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
void for_each_segment(const common::loop_nest<N>& nest,
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
  common::row_sources<N> src;
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

// Calls `elements(begin, end)` over all the elements of a nest, on `threads` threads: rows
// cut into pieces of whole SIMD blocks, so that a few long rows still spread over every
// thread.
template <std::size_t N, class Elements>
void for_chunks(const common::loop_nest<N>& nest, int threads, Elements&& elements) {
  const std::size_t inner = nest.inner();
  std::size_t rows = 1;
  for (std::size_t d = 0; d + 1 < nest.rank; ++d) rows *= nest.dims[d];
  const std::size_t total = rows * inner;
  if (total == 0) return;
  if (threads <= 1) return elements(std::size_t(0), total);
  const std::size_t per_thread = (total + threads - 1) / threads;
  const std::size_t chunk = std::max<std::size_t>(
      block_width, (std::min(per_thread, inner) + block_width - 1) / block_width * block_width);
  const std::size_t chunks_per_row = (inner + chunk - 1) / chunk;
  for_items(rows * chunks_per_row, threads, [&](std::size_t begin, std::size_t end) {
    for (std::size_t item = begin; item < end; ++item) {
      const std::size_t start = item / chunks_per_row * inner + item % chunks_per_row * chunk;
      elements(start, std::min(start + chunk, (item / chunks_per_row + 1) * inner));
    }
  });
}

}  // namespace loom::cpu
