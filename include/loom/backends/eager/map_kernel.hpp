#pragma once

#include <array>
#include <cstddef>
#include <utility>

#include "loom/backends/common/loop_nest.hpp"
#include "loom/backends/cpu/lanes.hpp"
#include "loom/backends/cpu/segments.hpp"
#include "loom/backends/cpu/threads.hpp"
#include "loom/backends/eager/operand.hpp"
#include "loom/core/config.hpp"
#include "loom/graph/ops/signature.hpp"

namespace loom::eager::detail {

// The block of `Lanes::width` elements at `j` of a segment: each operand loaded as its own
// dtype `T`, converted to the one the op's signature gives it (`O`), then the op.
template <class Lanes, class R, class... T, class Op, class... O, std::size_t K, std::size_t... I>
LOOM_INLINE auto map_at(const Op& op,
                        signature<R, O...>,
                        const common::row_sources<K>& src,
                        std::size_t j,
                        std::index_sequence<I...>) {
  return Lanes::template apply<R>(
      op,
      Lanes::template convert<O>(Lanes::load(
          static_cast<const T*>(src.data[I]) + std::ptrdiff_t(j) * src.step[I], src.step[I]))...);
}

// out = op(operands...) element by element over `space`, the operands broadcast into it: the
// walk, SIMD blocks, scalar tails and threads of a fused map step and the same SIMD and scalar
// functions, with none of a compiled model's machinery (plan, frame, groups), so that each
// eager op costs the compiler one small loop. `T...` are the operands' dtypes; an impure op
// runs on one thread, in order, as in a fused pass.
template <class R, class... T, class Op, class Sig>
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
  const bool parallel = threads > 1 && space.size() >= cpu::parallel_threshold && !impure;
  using block = cpu::block_lanes<cpu::block_width>;
  constexpr auto each = std::index_sequence_for<T...>{};
  cpu::for_chunks(nest, parallel ? threads : 1, [&](std::size_t begin, std::size_t end) {
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
                    block::store(o + j, map_at<block, R, T...>(op, sig, src, j, each));
                  },
                  [&](std::size_t j) {
                    o[j] = map_at<cpu::scalar_lanes, R, T...>(op, sig, src, j, each);
                  });
            });
  });
}

}  // namespace loom::eager::detail
