#pragma once

#include <algorithm>
#include <array>
#include <cstddef>

#include "loom/backends/cpu/evaluate.hpp"
#include "loom/backends/cpu/fold.hpp"
#include "loom/backends/cpu/map_step.hpp"

namespace loom::cpu {

// A reduce step: for each element of the result (a "row"), folds the element-wise
// expression of its operand over the reduced axes. The walk visits the kept axes first and
// the reduced ones last, so each row is one contiguous range of the walk, and a reduction
// over the trailing axes reads its operand in memory order.
// Where `Reads` names a stash, the step also stores that value of each element it folds, at
// the element's place in the space (the walk is in memory order then), for a later step of
// the same rows to load instead of computing it again.
template <class G, std::size_t Step, class Reads = plan_reads<G, Step>>
struct reduce_step {
  using plan = fusion_plan<G>;
  static constexpr std::size_t N = G::node_count;
  static constexpr std::size_t node = plan::steps[Step].node;
  static constexpr std::size_t operand = node_t<G, node>::args[0];
  using op = typename node_t<G, node>::op_type;
  using result_type = typename node_t<G, node>::value_type;
  // The dtype elements are folded in: the operand's, as the reduction's signature converts
  // it (argmax folds values and returns an index).
  template <class R, class O>
  static O folded_of(signature<R, O>);
  using folded_type = decltype(folded_of(
      typename op::template signature<typename node_t<G, operand>::value_type>{}));
  using fold_type = typename op::kind_type;

  static constexpr std::size_t stash = Reads::stash;
  static constexpr bool stashes = stash != plan::npos;

  loop_nest<N> nest;
  unsigned char* out;
  void* stash_data;

  static const shape& space(const call_frame<N>& f) { return f.shapes[operand]; }

  static std::array<std::size_t, max_rank> kept_then_reduced(std::size_t rank) {
    std::array<std::size_t, max_rank> order{};
    std::size_t n = 0;
    for (std::size_t d = 0; d < rank; ++d)
      if (!op::reduces(d)) order[n++] = d;
    for (std::size_t d = 0; d < rank; ++d)
      if (op::reduces(d)) order[n++] = d;
    return order;
  }

  static std::size_t kept_axes(std::size_t rank) {
    std::size_t n = 0;
    for (std::size_t d = 0; d < rank; ++d) n += !op::reduces(d);
    return n;
  }

  reduce_step(const call_frame<N>& f, std::size_t)
      : nest(make_loop_nest<G, Reads>(
            f, space(f), kept_then_reduced(space(f).rank), kept_axes(space(f).rank))),
        out(static_cast<unsigned char*>(f.data[node])),
        stash_data(stashes ? f.data[stash] : nullptr) {}

  // Result elements [first_row, last_row), each folding `per_row` elements of the walk.
  void rows(const G& g, std::size_t first_row, std::size_t last_row, std::size_t per_row) const {
    if constexpr (evaluate<G, Step, block_lanes<block_width>, false, Reads>::steps_known())
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
    using block_eval = evaluate<G, Step, block_lanes<block_width>, Dense, Reads>;
    using scalar_eval = evaluate<G, Step, scalar_lanes, false, Reads>;
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
        step_nodes<G, Step, Reads>::loads,
        [&](const row_sources<N>& src, std::size_t n, std::size_t first, std::size_t at)
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
