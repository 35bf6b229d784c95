#pragma once

#include <algorithm>
#include <array>
#include <cstddef>

#include "loom/backends/common/loop_nest.hpp"
#include "loom/backends/cpu/segments.hpp"
#include "loom/core/config.hpp"

namespace loom::cpu {

// Folds the rows [first_row, last_row) of a reduction's walk over `nest` (the values `loads`
// lists), `per_row` elements each, into result[row] with an `Accumulator` (fold.hpp). The
// element at `k` of a segment that starts at element `first` of the walk is
// `single(src, first, k)`, and the block_width elements from there `block(src, first, k)`.
// One walk over all the rows: a segment of the walk may hold the end of one row and the start
// of the next (where the reduced extents are 1, kept axes merge), so each is cut at row ends;
// a row cut over segments carries its partial fold from one to the next.
template <class Accumulator, class R, std::size_t N, std::size_t L, class Block, class Single>
void fold_rows(const common::loop_nest<N>& nest,
               const std::array<std::size_t, L>& loads,
               std::size_t first_row,
               std::size_t last_row,
               std::size_t per_row,
               R* result,
               Block&& block,
               Single&& single) {
  if (first_row >= last_row) return;
  if (per_row == 0) {
    for (std::size_t r = first_row; r < last_row; ++r)
      result[r] = static_cast<R>(Accumulator{}.result(0));
    return;
  }
  Accumulator acc;
  std::size_t row = first_row, row_end = (first_row + 1) * per_row;
  for_each_segment(
      nest,
      first_row * per_row,
      last_row * per_row,
      loads,
      [&](const common::row_sources<N>& src, std::size_t n, std::size_t first, std::size_t at)
          LOOM_INLINE_LAMBDA {
            for (std::size_t j = 0; j < n;) {
              const std::size_t piece = std::min(n - j, row_end - (first + j));
              const std::size_t in_row = first + j - (row_end - per_row);
              const std::size_t start = j;
              const bool ends_row = first + j + piece == row_end;
              // A local fold, so that it stays in registers: fresh for a row's first piece,
              // the carried one otherwise.
              Accumulator part = in_row == 0 ? Accumulator{} : acc;
              const block_split s = split_blocks(piece, at + start);
              for (std::size_t k = 0; k < s.head; ++k)
                part.add(single(src, first, start + k), in_row + k);
              part.add_blocks(s.blocks, in_row + s.head, [&](std::size_t b) LOOM_INLINE_LAMBDA {
                return block(src, first, start + s.head + b * block_width);
              });
              for (std::size_t k = s.head + s.blocks * block_width; k < piece; ++k)
                part.add(single(src, first, start + k), in_row + k);
              if (ends_row) {
                result[row++] = static_cast<R>(part.result(per_row));
                row_end += per_row;
              } else {
                acc = part;
              }
              j += piece;
            }
          });
}

}  // namespace loom::cpu
