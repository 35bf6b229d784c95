#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <exception>
#include <tuple>
#include <utility>

#include "loom/backends/common/group_rows.hpp"
#include "loom/backends/cpu/call_step.hpp"
#include "loom/backends/cpu/map_step.hpp"
#include "loom/backends/cpu/matmul_step.hpp"
#include "loom/backends/cpu/reduce_step.hpp"
#include "loom/backends/cpu/threads.hpp"

namespace loom::cpu {

template <class G, std::size_t Step, template <class, std::size_t> class Reads = common::plan_reads>
using step_runner =
    std::conditional_t<fusion_plan<G>::steps[Step].kind == step_kind::map,
                       map_step<G, Step, Reads<G, Step>>,
                       std::conditional_t<fusion_plan<G>::steps[Step].kind == step_kind::reduce,
                                          reduce_step<G, Step, Reads<G, Step>>,
                                          matmul_step<G, Step>>>;

// The CPU's step runners, with what `Reads` says each step reads.
template <template <class, std::size_t> class Reads>
struct runners_reading {
  template <class G, std::size_t Step>
  using type = step_runner<G, Step, Reads>;
};

// A group of the plan on the CPU: its steps one block of rows at a time (every step on a
// block before the next block), blocks over threads.
// `Reads` says what each step reads and computes: the plan's, or with the CPU's stashes.
template <class G,
          std::size_t Group,
          template <class, std::size_t> class Reads = common::plan_reads>
struct group_runner : common::group_rows<G, Group, runners_reading<Reads>::template type> {
  using rows_of = common::group_rows<G, Group, runners_reading<Reads>::template type>;
  using rows_of::count;
  using rows_of::first;
  using rows_of::info;
  using rows_of::make_steps;
  using rows_of::N;
  using rows_of::split_rows;
  using typename rows_of::plan;

  template <std::size_t S>
  static constexpr bool is_reduce = plan::steps[S].kind == step_kind::reduce;
  template <std::size_t S>
  static constexpr bool is_matmul = plan::steps[S].kind == step_kind::matmul;

  static void run(const G& g, const common::call_frame<N>& f, int threads) {
    if constexpr (info.is_call) {
      call_step<G, first>::run(g, f);
    } else {
      const auto steps = make_steps(f);
      // `if constexpr`: a group of one step (every eager op) instantiates one loop, not also
      // the row-block walk it never takes.
      if constexpr (count == 1) {
        run_alone<first>(g, f, std::get<0>(steps), threads);
      } else {
        const auto s = split_rows(f);
        [&]<std::size_t... K>(std::index_sequence<K...>) {
          if (s.together)
            run_rows(g, steps, s.rows, s.per_row, s.elements, threads);
          else
            (run_alone<first + K>(g, f, std::get<K>(steps), threads), ...);
        }
        (std::make_index_sequence<count>{});
      }
    }
  }

  // A step's own rows and elements per row, when it runs alone.
  template <std::size_t S>
  static std::pair<std::size_t, std::size_t> own_rows(const common::call_frame<N>& f) {
    const shape& space = step_runner<G, S, Reads>::space(f);
    if constexpr (is_reduce<S>) {
      const std::size_t rows = f.shapes[plan::steps[S].node].size();
      return {rows, rows == 0 ? 0 : space.size() / rows};
    } else if constexpr (is_matmul<S>) {
      const std::size_t cols = space.dims[space.rank - 1];
      return {cols == 0 ? 0 : space.size() / cols, cols};
    } else {
      return {space.size(), 1};
    }
  }

  // The threads a pass over `elements` elements uses: one below the threshold, and one for
  // a group with impure calls, whose order must stay that of eager mode.
  static int workers(std::size_t elements, int threads) {
    return has_impure ? 1 : threads_for(elements, threads);
  }

  // Rows per work item: a softmax or layer norm row block that fits in the L1 cache (about
  // 4096 elements), and about 1024 elements where the group's data are too large for the L2
  // cache (2^20 elements and more): its rows then come from further out and its output goes
  // there, and shorter bursts of output measured 2-6% faster (W4 and W5 at 4096x1024 on one
  // thread; slower at 64x1024, docs/benchmarks.md). For a GEMM group a worker's whole share
  // of the product's rows (Eigen packs the right-hand matrix once per GEMM call, and the
  // epilogue then reads the share from L2 or L3); for pure maps the whole share, in
  // SIMD-block multiples.
  static std::size_t rows_per_item(std::size_t rows, std::size_t elements, int workers) {
    const std::size_t share = (rows + workers - 1) / workers;
    const std::size_t row_elements = std::max<std::size_t>(1, elements / rows);
    std::size_t block = share;
    if (!has_matmul && info.split != plan::npos)
      block = std::max<std::size_t>(
          1, (elements < (std::size_t(1) << 20) ? 4096 : 1024) / row_elements);
    else if (!has_matmul)
      block = (share + block_width - 1) / block_width * block_width;
    return std::max<std::size_t>(1, std::min(block, share));
  }

  template <class Steps>
  static void run_rows(const G& g,
                       const Steps& steps,
                       std::size_t rows,
                       const std::array<std::size_t, count>& per_row,
                       std::size_t elements,
                       int threads) {
    if (rows == 0) return;
    const int used = workers(elements, threads);
    const std::size_t block = rows_per_item(rows, elements, used);
    const std::size_t items = (rows + block - 1) / block;
    for_items(items, used, [&](std::size_t begin, std::size_t end) {
      for (std::size_t item = begin; item < end; ++item) {
        const std::size_t r0 = item * block, r1 = std::min(rows, r0 + block);
        std::apply(
            [&](const auto&... step) {
              std::size_t k = 0;
              (step.rows(g, r0, r1, per_row[k++]), ...);
            },
            steps);
      }
    });
  }

  template <std::size_t S, class Runner>
  static void run_alone(const G& g,
                        const common::call_frame<N>& f,
                        const Runner& step,
                        int threads) {
    const auto [rows, per_row] = own_rows<S>(f);
    const std::size_t elements = rows * per_row;
    if (rows == 0) return;
    const int used = workers(elements, threads);
    if constexpr (plan::steps[S].kind == step_kind::map) {
      step.all(g, used);
    } else {
      for_row_shares(
          rows, used, [&](std::size_t r0, std::size_t r1) { step.rows(g, r0, r1, per_row); });
    }
  }

  static constexpr bool has_impure = plan::group_has_impure(Group);
  static constexpr bool has_matmul = [] {
    for (std::size_t s = first; s < first + count; ++s)
      if (plan::steps[s].kind == step_kind::matmul) return true;
    return false;
  }();
};

}  // namespace loom::cpu
