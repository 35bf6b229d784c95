#pragma once

#include <algorithm>
#include <array>
#include <cstddef>

#include "loom/backends/common/frame.hpp"
#include "loom/backends/common/loop_nest.hpp"
#include "loom/backends/cpu/fold.hpp"
#include "loom/backends/cpu/fold_rows.hpp"
#include "loom/backends/cpu/lanes.hpp"
#include "loom/backends/cpu/threads.hpp"
#include "loom/backends/eager/operand.hpp"
#include "loom/core/config.hpp"
#include "loom/graph/ops/signature.hpp"

namespace loom::eager::detail {

// Reduction `Op` of one tensor into `out` (of shape `out_shape`): its rows folded by the fold,
// in the blocks and order a fused reduce step uses, rows over threads, with none of a
// compiled model's machinery. `T` is the operand's dtype and `Rank` its static rank, `F` the one
// its signature folds it in (argmax folds values and returns an index).
template <class T, std::size_t Rank, class Op, class R, class F>
void reduce_kernel(
    const Op&, signature<R, F>, R* out, const shape& out_shape, const operand& in, int threads) {
  const shape& space = in.dims();
  if constexpr (!Op::empty_allowed)
    if (space.size() == 0 && out_shape.size() != 0)
      common::detail::throw_empty_reduction(Op::name, space);
  // Kept axes first and reduced ones last, so each result element is one range of the walk.
  std::array<std::size_t, max_rank> order{};
  std::size_t kept = 0;
  for (std::size_t d = 0; d < space.rank; ++d)
    if (!Op::reduces(d)) order[kept++] = d;
  for (std::size_t d = 0, n = kept; d < space.rank; ++d)
    if (Op::reduces(d)) order[n++] = d;
  // Over trailing axes only, the walk is the operand's own order: its rows are contiguous.
  constexpr bool trailing = [] {
    for (std::size_t d = 0; d + 1 < Rank; ++d)
      if (Op::reduces(d) && !Op::reduces(d + 1)) return false;
    return true;
  }();
  static constexpr std::array<std::size_t, 1> read{0};
  const auto nest =
      common::nest_over<1>(space, order, kept, read, [&](std::size_t) { return in.source(); });
  const std::size_t rows = out_shape.size();
  if (rows == 0) return;
  const std::size_t per_row = space.size() / rows;
  const int used = threads > 1 && space.size() >= cpu::parallel_threshold ? threads : 1;
  const std::size_t chunk = (rows + used - 1) / used;
  using lanes = cpu::block_lanes<cpu::block_width>;
  using block = typename lanes::template value<F>;
  cpu::for_items((rows + chunk - 1) / chunk, used, [&](std::size_t begin, std::size_t end) {
    for (std::size_t item = begin; item < end; ++item)
      cpu::fold_rows<cpu::fold<typename Op::kind_type, F, cpu::block_width>>(
          nest,
          read,
          item * chunk,
          std::min(rows, (item + 1) * chunk),
          per_row,
          out,
          [&](const common::row_sources<1>& src, std::size_t, std::size_t k)
              LOOM_INLINE_LAMBDA -> block {
                const auto* p = static_cast<const T*>(src.data[0]);
                if constexpr (trailing)
                  return lanes::template convert<F>(lanes::load(p + k, 1));
                else
                  return lanes::template convert<F>(
                      lanes::load(p + std::ptrdiff_t(k) * src.step[0], src.step[0]));
              },
          [&](const common::row_sources<1>& src, std::size_t, std::size_t k) LOOM_INLINE_LAMBDA {
            return static_cast<F>(
                static_cast<const T*>(src.data[0])[std::ptrdiff_t(k) * src.step[0]]);
          });
  });
}

}  // namespace loom::eager::detail
