#pragma once

#include <algorithm>
#include <array>
#include <cstddef>

#include "loom/backends/common/steps.hpp"
#include "loom/backends/cpu/fold.hpp"
#include "loom/backends/cpu/fold_rows.hpp"
#include "loom/backends/cpu/map_step.hpp"

namespace loom::cpu {

// A reduce step on the CPU: each row folded in SIMD blocks (fold.hpp), rows over threads.
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
    using block = typename block_lanes<block_width>::template value<folded_type>;
    cpu::fold_rows<fold<fold_type, folded_type, block_width>>(
        nest,
        common::step_nodes<G, Step, Reads>::loads,
        first_row,
        last_row,
        per_row,
        reinterpret_cast<result_type*>(out),
        // Returns the block by value: a cast is an expression over the local `v`.
        [&](const common::row_sources<N>& src, std::size_t first, std::size_t k)
            LOOM_INLINE_LAMBDA -> block {
              typename block_eval::values_type v;
              block_eval::values(g, src, k, v);
              if constexpr (stashes) block_eval::template store<stash>(stash_data, first + k, v);
              return block_lanes<block_width>::template convert<folded_type>(std::get<operand>(v));
            },
        [&](const common::row_sources<N>& src, std::size_t first, std::size_t k)
            LOOM_INLINE_LAMBDA {
              typename scalar_eval::values_type v;
              scalar_eval::values(g, src, k, v);
              if constexpr (stashes) scalar_eval::template store<stash>(stash_data, first + k, v);
              return static_cast<folded_type>(std::get<operand>(v));
            });
  }
};

}  // namespace loom::cpu
