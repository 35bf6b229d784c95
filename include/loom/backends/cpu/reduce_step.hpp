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
template <class G, std::size_t Step>
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

  loop_nest<N> nest;
  unsigned char* out;

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
      : nest(make_loop_nest<G, Step>(
            f, space(f), kept_then_reduced(space(f).rank), kept_axes(space(f).rank))),
        out(static_cast<unsigned char*>(f.data[node])) {}

  // Result elements [first_row, last_row), each folding `per_row` elements of the walk.
  void rows(const G& g, std::size_t first_row, std::size_t last_row, std::size_t per_row) const {
    if (nest.dense)
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
    using block_eval = evaluate<G, Step, block_lanes<block_width>, Dense>;
    using scalar_eval = evaluate<G, Step, scalar_lanes, false>;
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
    // at row ends.
    accumulator acc;
    std::size_t row = first_row, row_end = (first_row + 1) * per_row;
    for_each_segment(
        nest,
        first_row * per_row,
        last_row * per_row,
        step_nodes<G, Step>::loads,
        [&](const row_sources<N>& src, std::size_t n, std::size_t first, std::size_t at) {
          for (std::size_t j = 0; j < n;) {
            if (first + j == row_end) {
              result[row++] = static_cast<result_type>(acc.result(per_row));
              acc = accumulator{};
              row_end += per_row;
            }
            const std::size_t piece = std::min(n - j, row_end - (first + j));
            const std::size_t in_row = first + j - (row_end - per_row);
            const std::size_t start = j;
            for_each_block(
                piece,
                at + start,
                [&](std::size_t k) {
                  typename block_eval::values_type v;
                  block_eval::values(g, src, start + k, v);
                  acc.add(lanes::template convert<folded_type>(std::get<operand>(v)), in_row + k);
                },
                [&](std::size_t k) {
                  typename scalar_eval::values_type v;
                  scalar_eval::values(g, src, start + k, v);
                  acc.add(static_cast<folded_type>(std::get<operand>(v)), in_row + k);
                });
            j += piece;
          }
        });
    result[row] = static_cast<result_type>(acc.result(per_row));
  }
};

}  // namespace loom::cpu
