#pragma once

#include <algorithm>
#include <array>
#include <cstddef>

#include "loom/backends/common/steps.hpp"
#include "loom/backends/cpu/fold.hpp"
#include "loom/backends/cpu/map_step.hpp"

namespace loom::cpu {

// A reduce step on the CPU: each row folded in SIMD blocks (fold.hpp), rows over threads.
// A row cut over segments of the walk carries its partial fold from one to the next.
template <class G, std::size_t Step, class Reads = common::plan_reads<G, Step>>
struct reduce_step : common::reduce_space<G, Step, Reads> {
  using base = common::reduce_space<G, Step, Reads>;
  using base::base;
  using base::N;
  using base::nest;
  using base::operand;
  using base::out;
  using base::stash;
  using base::stash_data;
  using base::stashes;
  using typename base::fold_type;
  using typename base::folded_type;
  using typename base::result_type;

  // Result elements [first_row, last_row), each folding `per_row` elements of the walk.
  void rows(const G& g, std::size_t first_row, std::size_t last_row, std::size_t per_row) const {
    if constexpr (common::evaluate<G, Step, block_lanes<block_width>, false, Reads>::steps_known())
      fold_rows<false>(g, first_row, last_row, per_row);
    else if (nest.dense)
      fold_rows<true>(g, first_row, last_row, per_row);
    else
      fold_rows<false>(g, first_row, last_row, per_row);
  }

 private:
  template <bool Dense>
  void fold_rows(const G& g,
                 std::size_t first_row,
                 std::size_t last_row,
                 std::size_t per_row) const {
    using block_eval = common::evaluate<G, Step, block_lanes<block_width>, Dense, Reads>;
    using scalar_eval = common::evaluate<G, Step, scalar_lanes, false, Reads>;
    using lanes = block_lanes<block_width>;
    if (first_row >= last_row) return;
    auto* result = reinterpret_cast<result_type*>(out);
    using accumulator = fold<fold_type, folded_type, block_width>;
    if (per_row == 0) {
      for (std::size_t r = first_row; r < last_row; ++r)
        result[r] = static_cast<result_type>(accumulator{}.result(0));
      return;
    }
    // One walk over all the rows. A segment of the walk may hold the end of one row and the
    // start of the next (where the reduced extents are 1, kept axes merge), so each is cut
    // at row ends; a row cut over segments carries its partial fold in `acc`.
    accumulator acc;
    std::size_t row = first_row, row_end = (first_row + 1) * per_row;
    for_each_segment(
        nest,
        first_row * per_row,
        last_row * per_row,
        common::step_nodes<G, Step, Reads>::loads,
        [&](const common::row_sources<N>& src, std::size_t n, std::size_t first, std::size_t at)
            LOOM_INLINE_LAMBDA {
              for (std::size_t j = 0; j < n;) {
                const std::size_t piece = std::min(n - j, row_end - (first + j));
                const std::size_t in_row = first + j - (row_end - per_row);
                const std::size_t start = j;
                const bool ends_row = first + j + piece == row_end;
                // A local fold, so that it stays in registers: fresh for a row's first piece,
                // the carried one otherwise.
                accumulator part = in_row == 0 ? accumulator{} : acc;
                auto single = [&](std::size_t k) LOOM_INLINE_LAMBDA {
                  typename scalar_eval::values_type v;
                  scalar_eval::values(g, src, start + k, v);
                  if constexpr (stashes)
                    scalar_eval::template store<stash>(stash_data, first + start + k, v);
                  part.add(static_cast<folded_type>(std::get<operand>(v)), in_row + k);
                };
                const block_split s = split_blocks(piece, at + start);
                for (std::size_t k = 0; k < s.head; ++k) single(k);
                // Returns the block by value: a cast is an expression over the local `v`.
                using block = typename lanes::template value<folded_type>;
                part.add_blocks(
                    s.blocks, in_row + s.head, [&](std::size_t b) LOOM_INLINE_LAMBDA -> block {
                      typename block_eval::values_type v;
                      const std::size_t k = start + s.head + b * block_width;
                      block_eval::values(g, src, k, v);
                      if constexpr (stashes)
                        block_eval::template store<stash>(stash_data, first + k, v);
                      return lanes::template convert<folded_type>(std::get<operand>(v));
                    });
                for (std::size_t k = s.head + s.blocks * block_width; k < piece; ++k) single(k);
                if (ends_row) {
                  result[row++] = static_cast<result_type>(part.result(per_row));
                  row_end += per_row;
                } else {
                  acc = part;
                }
                j += piece;
              }
            });
  }
};

}  // namespace loom::cpu
