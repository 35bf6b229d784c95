#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <type_traits>

#include "loom/backends/common/loop_nest.hpp"
#include "loom/backends/common/steps.hpp"
#include "loom/backends/cpu/fold.hpp"
#include "loom/backends/cpu/fold_rows.hpp"
#include "loom/backends/cpu/map_step.hpp"

namespace loom::cpu {

// A reduce step on the CPU: each row folded in SIMD blocks (fold.hpp), rows over threads.
template <class G, std::size_t Step, class Reads = common::plan_reads<G, Step>>
struct reduce_step : common::reduce_space<G, Step, Reads> {
  using base = common::reduce_space<G, Step, Reads>;
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

  explicit reduce_step(const common::step_args<N>& s) : base(s) {
    if constexpr (reduces_leading_axes) {
      const common::call_frame<N>& f = s.frame;
      const shape& x = base::space(f);
      std::size_t folded = 1;
      kept = 1;
      for (std::size_t d = 0; d < x.rank; ++d) (d < leading_axes ? folded : kept) *= x.dims[d];
      if (kept >= block_width && folded > 1) {
        columns = common::make_loop_nest<G, Reads>(f, x, common::identity_order(), leading_axes);
        // The kept elements must form one contiguous row of the walk: blocks are then
        // aligned in the result's index (see fold_columns), and no value is gathered.
        by_columns = columns.inner() == kept && columns.dense;
      }
    }
  }

  // Result elements [first_row, last_row), each folding `per_row` elements of the walk.
  void rows(const G& g, std::size_t first_row, std::size_t last_row, std::size_t per_row) const {
    if constexpr (reduces_leading_axes)
      if (by_columns)
        return by_density(
            columns, [&](auto dense) { fold_columns<dense()>(g, first_row, last_row, per_row); });
    by_density(nest, [&](auto dense) { fold_rows<dense()>(g, first_row, last_row, per_row); });
  }

 private:
  // A block of elements, and one element at the end of a row.
  template <bool Dense>
  using block_eval = common::evaluate<G, Step, block_lanes<block_width>, Dense, Reads>;
  using scalar_eval = common::evaluate<G, Step, scalar_lanes, false, Reads>;

  // A reduction over the leading axes of its operand only (a bias's gradient: [batch, n]
  // summed over the batch) folds blocks of result elements at once: the operand is walked in
  // its own order, a run of kept elements per reduced index, each lane of a block folding one
  // result element. Walked in the reduction's order instead, each result element would fold
  // one strided column, one element at a time. leading_axes: how many leading axes are
  // reduced, where no later one is and one is kept; else 0.
  static constexpr std::size_t leading_axes = [] {
    constexpr std::size_t rank = node_t<G, operand>::extents_type::rank;
    std::size_t lead = 0;
    // `!=`, not `<`: the rank may be 0, where nvcc warns that `lead < 0` is pointless.
    while (lead != rank && base::op::reduces(lead)) ++lead;
    for (std::size_t d = lead; d != rank; ++d)
      if (base::op::reduces(d)) return std::size_t(0);
    return lead == rank ? 0 : lead;
  }();
  static constexpr bool reduces_leading_axes = leading_axes != 0 && !stashes && requires {
    typename fold_type::combine;
  };

  // Calls fold with the evaluator's dense form where `walk` is dense and the static extents do
  // not already fix every load's step.
  template <class Fold>
  static void by_density(const common::loop_nest<N>& walk, Fold&& fold) {
    if constexpr (block_eval<false>::steps_known())
      fold(std::false_type{});
    else if (walk.dense)
      fold(std::true_type{});
    else
      fold(std::false_type{});
  }

  common::loop_nest<N> columns;  // the operand in its own order, where by_columns
  std::size_t kept = 0;          // result elements
  bool by_columns = false;

  // Each result element folds its column in three levels: the running value takes one
  // element per reduced index, and joins the second level every block_width indices, which
  // joins the third every block_width^2. A sum of n floats then rounds as fold<Kind>'s
  // (fold.hpp) lanes do, not as one serial sum (whose error grows with n: 1.3e-6 of the mean
  // of 100000 squares with two levels). A result element's fold does not depend on which rows
  // a thread is given.
  template <bool Dense>
  void fold_columns(const G& g,
                    std::size_t first_row,
                    std::size_t last_row,
                    std::size_t per_row) const {
    using lanes = block_lanes<block_width>;
    using T = folded_type;
    using block = typename lanes::template value<T>;
    using combine = typename fold_type::combine;
    constexpr std::size_t chunk = 8 * block_width;
    constexpr T identity = fold_type::template identity<T>();
    T running[chunk], second[chunk], third[chunk];
    auto* result = reinterpret_cast<result_type*>(out);
    // Whether an element takes the block or the single-element path (which may round
    // differently: exp's) must not depend on where rows were split between threads. So the
    // fold runs over whole blocks from the row's start, and a share that starts or ends
    // inside a block evaluates all of it and keeps its own results. (A model with impure
    // calls runs on one thread, whose share is the whole row.)
    const std::size_t from = first_row / block_width * block_width;
    const std::size_t to = std::min(kept, (last_row + block_width - 1) / block_width * block_width);
    for (std::size_t c0 = from; c0 < to; c0 += chunk) {
      const std::size_t n = std::min(chunk, to - c0);
      // Folds `from` into `into` and starts it afresh.
      const auto spill = [n, identity](T* from, T* into) {
        for (std::size_t j = 0; j < n; ++j) {
          into[j] = combine::scalar(into[j], from[j]);
          from[j] = identity;
        }
      };
      std::fill_n(running, n, identity);
      std::fill_n(second, n, identity);
      std::fill_n(third, n, identity);
      for (std::size_t r = 0; r < per_row; ++r) {
        const std::size_t begin = r * kept + c0;
        for_each_segment(
            columns,
            begin,
            begin + n,
            common::step_nodes<G, Step, Reads>::loads,
            [&](const common::row_sources<N>& src,
                std::size_t count,
                std::size_t first,
                std::size_t at) LOOM_INLINE_LAMBDA {
              T* acc = running + (first - begin);
              for_each_block(
                  count,
                  at,
                  [&](std::size_t k) LOOM_INLINE_LAMBDA {
                    typename block_eval<Dense>::values_type v;
                    block_eval<Dense>::values(g, src, k, v);
                    const block x =
                        lanes::template convert<T>(block_eval<Dense>::template at<operand>(v));
                    lanes::template apply<T>(combine{}, block::load(acc + k), x).store(acc + k);
                  },
                  [&](std::size_t k) LOOM_INLINE_LAMBDA {
                    typename scalar_eval::values_type v;
                    scalar_eval::values(g, src, k, v);
                    acc[k] = combine::scalar(acc[k],
                                             static_cast<T>(scalar_eval::template at<operand>(v)));
                  });
            });
        if ((r + 1) % block_width == 0) spill(running, second);
        if ((r + 1) % (block_width * block_width) == 0) spill(second, third);
      }
      spill(running, second);
      spill(second, third);
      for (std::size_t j = std::max(c0, first_row); j < std::min(c0 + n, last_row); ++j)
        result[j] = static_cast<result_type>(fold_type::finish(third[j - c0], per_row));
    }
  }

  template <bool Dense>
  void fold_rows(const G& g,
                 std::size_t first_row,
                 std::size_t last_row,
                 std::size_t per_row) const {
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
              typename block_eval<Dense>::values_type v;
              block_eval<Dense>::values(g, src, k, v);
              if constexpr (stashes)
                block_eval<Dense>::template store<stash>(stash_data, first + k, v);
              return block_lanes<block_width>::template convert<folded_type>(
                  block_eval<Dense>::template at<operand>(v));
            },
        [&](const common::row_sources<N>& src, std::size_t first, std::size_t k)
            LOOM_INLINE_LAMBDA {
              typename scalar_eval::values_type v;
              scalar_eval::values(g, src, k, v);
              if constexpr (stashes) scalar_eval::template store<stash>(stash_data, first + k, v);
              return static_cast<folded_type>(scalar_eval::template at<operand>(v));
            });
  }
};

}  // namespace loom::cpu
