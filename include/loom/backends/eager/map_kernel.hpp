#pragma once

#include <array>
#include <cstddef>
#include <utility>

#include "loom/backends/common/lanes.hpp"
#include "loom/backends/common/loop_nest.hpp"
#include "loom/backends/cpu/lanes.hpp"
#include "loom/backends/cpu/segments.hpp"
#include "loom/backends/cpu/threads.hpp"
#include "loom/backends/eager/operand.hpp"
#include "loom/core/config.hpp"
#include "loom/graph/ops/signature.hpp"

namespace loom::eager::detail {

// `Lanes::width` elements of an operand from element `j` of a segment. An eager operand is a
// whole tensor broadcast into the output, so along a row of the nest it is either contiguous
// (step 1: its last axis is the row's) or one value (step 0), never strided. `Step` is that
// step where the static extents fix it (static_step), else -1: the loop then tests it.
template <class Lanes, class T, int Step>
LOOM_INLINE auto load_operand(const void* data, std::ptrdiff_t step, std::size_t j) {
  const T* p = static_cast<const T*>(data);
  if constexpr (Step == 1)
    return Lanes::load(p + j, 1);
  else if constexpr (Step == 0)
    return Lanes::splat(*p);
  else
    return step == 0 ? Lanes::splat(*p) : Lanes::load(p + j, 1);
}

// The value of the op at element `j` of a segment: each operand loaded as its own dtype `T`,
// converted to the one the op's signature gives it (`O`), then the op.
template <class Lanes,
          class R,
          auto Steps,
          class... T,
          class Op,
          class... O,
          std::size_t K,
          std::size_t... I>
LOOM_INLINE auto map_at(const Op& op,
                        signature<R, O...>,
                        const common::row_sources<K>& src,
                        std::size_t j,
                        std::index_sequence<I...>) {
  return Lanes::template apply<R>(op,
                                  common::as_operand<Lanes, O, T>(load_operand<Lanes, T, Steps[I]>(
                                      src.data[I], src.step[I], j))...);
}

// out = op(operands...) element by element over `space`, the operands broadcast into it: the
// walk, SIMD blocks, scalar tails and threads of a fused map step and the same SIMD and scalar
// functions, with none of a compiled model's machinery (plan, frame, groups), so that each
// eager op costs the compiler one small loop. `T...` are the operands' dtypes; an impure op
// runs on one thread, in order, as in a fused pass. `Steps`: each operand's step along the
// rows where the static extents fix it, else -1. `RowDivisor`: a division whose divisor the
// static extents make one value per row, which divides as the fused loop does
// (common::divide_by_one_value).
template <class R, auto Steps, bool RowDivisor, class... T, class Op, class Sig>
void map_kernel(const Op& op,
                Sig sig,
                R* out,
                const shape& space,
                const std::array<operand, sizeof...(T)>& in,
                bool impure,
                int threads) {
  constexpr std::size_t K = sizeof...(T);
  static constexpr auto read = [] {
    std::array<std::size_t, K> list{};
    for (std::size_t k = 0; k < K; ++k) list[k] = k;
    return list;
  }();
  const auto nest = common::nest_over<K>(
      space, common::identity_order(), 0, read, [&](std::size_t k) { return in[k].source(); });
  const int used = impure ? 1 : cpu::threads_for(space.size(), threads);
  auto value = [&]<class Lanes>(const common::row_sources<K>& src,
                                std::size_t j) LOOM_INLINE_LAMBDA {
    if constexpr (RowDivisor)
      return common::divide_by_one_value<Lanes>(
          load_operand<Lanes, R, Steps[0]>(src.data[0], src.step[0], j),
          *static_cast<const R*>(src.data[1]));
    else
      return map_at<Lanes, R, Steps, T...>(op, sig, src, j, std::index_sequence_for<T...>{});
  };
  using block = cpu::block_lanes<cpu::block_width>;
  cpu::for_chunks(nest, used, [&](std::size_t begin, std::size_t end) {
    cpu::for_each_segment(
        nest,
        begin,
        end,
        read,
        [&](const common::row_sources<K>& src, std::size_t n, std::size_t first, std::size_t at)
            LOOM_INLINE_LAMBDA {
              R* o = out + first;
              cpu::for_each_block(
                  n,
                  at,
                  [&](std::size_t j) LOOM_INLINE_LAMBDA {
                    block::store(o + j, value.template operator()<block>(src, j));
                  },
                  [&](std::size_t j) {
                    o[j] = value.template operator()<cpu::scalar_lanes>(src, j);
                  });
            });
  });
}

}  // namespace loom::eager::detail
