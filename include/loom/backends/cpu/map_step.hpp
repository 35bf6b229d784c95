#pragma once

#include <array>
#include <cstddef>
#include <type_traits>

#include "loom/backends/common/steps.hpp"
#include "loom/backends/cpu/lanes.hpp"
#include "loom/backends/cpu/segments.hpp"
#include "loom/backends/cpu/threads.hpp"

namespace loom::cpu {

// A map step on the CPU: its space walked in SIMD blocks, over threads.
template <class G, std::size_t Step, class Reads = common::plan_reads<G, Step>>
struct map_step : common::map_space<G, Step, Reads> {
  using base = common::map_space<G, Step, Reads>;
  using base::base;
  using base::N;
  using base::nest;
  using base::out;
  using typename base::nodes;
  using typename base::plan;
  using strided_eval = common::evaluate<G, Step, block_lanes<block_width>, false, Reads>;

  // Elements [first_row * per_row, last_row * per_row) of the space.
  void rows(const G& g, std::size_t first_row, std::size_t last_row, std::size_t per_row) const {
    elements(g, first_row * per_row, last_row * per_row);
  }

  // The whole space, as a group of its own.
  void all(const G& g, int threads) const {
    for_chunks(nest, threads, [&](std::size_t begin, std::size_t end) { elements(g, begin, end); });
  }

 private:
  void elements(const G& g, std::size_t begin, std::size_t end) const {
    for_each_segment(
        nest,
        begin,
        end,
        nodes::loads,
        [&](const common::row_sources<N>& src, std::size_t n, std::size_t first, std::size_t at)
            LOOM_INLINE_LAMBDA {
              std::array<void*, nodes::store_count> o;
              for (std::size_t k = 0; k < nodes::store_count; ++k)
                o[k] = out[k] + first * plan::nodes[nodes::stores[k]].element_size;
              auto single = [&](std::size_t j) {
                common::evaluate<G, Step, scalar_lanes, false, Reads>::run(g, src, j, o);
              };
              auto blocks = [&]<bool Dense>(std::bool_constant<Dense>) LOOM_INLINE_LAMBDA {
                for_each_block(
                    n,
                    at,
                    [&](std::size_t j) LOOM_INLINE_LAMBDA {
                      common::evaluate<G, Step, block_lanes<block_width>, Dense, Reads>::run(
                          g, src, j, o);
                    },
                    single);
              };
              if constexpr (strided_eval::steps_known())
                blocks(std::false_type{});
              else if (nest.dense)
                blocks(std::true_type{});
              else
                blocks(std::false_type{});
            });
  }
};

}  // namespace loom::cpu
