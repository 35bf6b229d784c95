#pragma once

#include <algorithm>
#include <array>
#include <cstddef>

#include "loom/backends/common/frame.hpp"
#include "loom/backends/common/loop_nest.hpp"
#include "loom/backends/common/reduce_order.hpp"
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
// its signature folds it in (argmax folds values and returns an index; a half-precision F
// folds in f32).
template <class T, std::size_t Rank, class Op, class R, class F>
void reduce_kernel(
    const Op&, signature<R, F>, R* out, const shape& out_shape, const operand& in, int threads) {
  const shape& space = in.dims();
  if constexpr (!Op::empty_allowed)
    if (space.size() == 0 && out_shape.size() != 0)
      common::detail::throw_empty_reduction(Op::name, space);
  // Over trailing axes only, the walk is the operand's own order: its rows are contiguous.
  constexpr bool trailing = [] {
    for (std::size_t d = 0; d + 1 < Rank; ++d)
      if (Op::reduces(d) && !Op::reduces(d + 1)) return false;
    return true;
  }();
  static constexpr std::array<std::size_t, 1> read{0};
  const auto nest = common::nest_over<1>(space,
                                         common::kept_then_reduced<Op>(space.rank),
                                         common::kept_axes<Op>(space.rank),
                                         read,
                                         [&](std::size_t) { return in.source(); });
  const std::size_t rows = out_shape.size();
  const std::size_t per_row = rows == 0 ? 0 : space.size() / rows;
  using lanes = cpu::block_lanes<cpu::block_width>;
  using block = typename lanes::template value<F>;
  using folded = compute_t<F>;
  cpu::for_row_shares(
      rows, cpu::threads_for(space.size(), threads), [&](std::size_t r0, std::size_t r1) {
        cpu::fold_rows<cpu::fold<typename Op::kind_type, folded, cpu::block_width>>(
            nest,
            read,
            r0,
            r1,
            per_row,
            out,
            [&](const common::row_sources<1>& src, std::size_t, std::size_t k)
                LOOM_INLINE_LAMBDA -> block {
                  const auto* p = static_cast<const T*>(src.data[0]);
                  if constexpr (trailing)
                    return common::as_operand<lanes, F, T>(lanes::load(p + k, 1));
                  else
                    return common::as_operand<lanes, F, T>(
                        lanes::load(p + std::ptrdiff_t(k) * src.step[0], src.step[0]));
                },
            [&](const common::row_sources<1>& src, std::size_t, std::size_t k) LOOM_INLINE_LAMBDA {
              return static_cast<folded>(static_cast<F>(
                  static_cast<const T*>(src.data[0])[std::ptrdiff_t(k) * src.step[0]]));
            });
      });
}

}  // namespace loom::eager::detail
