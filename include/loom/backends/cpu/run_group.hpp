#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <exception>
#include <tuple>
#include <utility>

#include "loom/backends/cpu/call_step.hpp"
#include "loom/backends/cpu/map_step.hpp"
#include "loom/backends/cpu/matmul_step.hpp"
#include "loom/backends/cpu/reduce_step.hpp"
#include "loom/backends/cpu/threads.hpp"

namespace loom::cpu {

template <class G, std::size_t Step, template <class, std::size_t> class Reads = plan_reads>
using step_runner =
    std::conditional_t<fusion_plan<G>::steps[Step].kind == step_kind::map,
                       map_step<G, Step, Reads<G, Step>>,
                       std::conditional_t<fusion_plan<G>::steps[Step].kind == step_kind::reduce,
                                          reduce_step<G, Step, Reads<G, Step>>,
                                          matmul_step<G, Step>>>;

// A group of the plan: its steps run over the same rows, one block of rows at a time
// (every step on a block before the next block), so the values a later step reads from an
// earlier one are still in cache. Where the run-time shapes do not split into the same rows
// (dynamic extents that differ from what the static ones promised), each step runs over its
// whole space in turn instead: slower, equally correct.
// `Reads` says what each step reads and computes: the plan's, or with the CPU's stashes.
template <class G, std::size_t Group, template <class, std::size_t> class Reads = plan_reads>
struct group_runner {
  using plan = fusion_plan<G>;
  static constexpr std::size_t N = G::node_count;
  static constexpr auto info = plan::groups[Group];
  static constexpr std::size_t first = info.first_step;
  static constexpr std::size_t count = info.step_count;

  template <std::size_t S>
  static constexpr bool is_reduce = plan::steps[S].kind == step_kind::reduce;
  template <std::size_t S>
  static constexpr bool is_matmul = plan::steps[S].kind == step_kind::matmul;

  // Full-space steps keep the group's rows apart in their loop nests (see make_loop_nest).
  template <std::size_t S>
  static constexpr std::size_t row_start() {
    const auto& step = plan::steps[S];
    const bool full = plan::same_dims(step.rank, step.dims, info.rank, info.dims);
    return full && count > 1 ? info.split : plan::npos;
  }

  // The group's steps, each ready to run over its part of the rows.
  template <std::size_t... K>
  static auto make_steps(const call_frame<N>& f, std::index_sequence<K...>) {
    return std::tuple<step_runner<G, first + K, Reads>...>{
        step_runner<G, first + K, Reads>(f, row_start<first + K>())...};
  }
  static auto make_steps(const call_frame<N>& f) {
    return make_steps(f, std::make_index_sequence<count>{});
  }

  // How the run-time shapes split into the group's rows: the first step's space split at
  // the group's split axis; each step's elements per row (1 for a per-row value); and
  // whether every step's space is the full one or the rows (`together`).
  struct row_split {
    std::size_t rows = 1, elements = 0;
    std::array<std::size_t, count> per_row{};
    bool together = true;
  };
  static row_split split_rows(const call_frame<N>& f) {
    row_split s;
    const shape& full = step_runner<G, first, Reads>::space(f);
    const std::size_t split = info.split == plan::npos ? full.rank : info.split;
    for (std::size_t d = split; d-- > 0;) s.rows *= full.dims[d];
    s.elements = full.size();
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      (
          [&] {
            const shape& space = step_runner<G, first + K, Reads>::space(f);
            const bool whole = space == full;
            s.per_row[K] = whole ? (s.rows == 0 ? 0 : full.size() / s.rows) : 1;
            s.together = s.together && (whole || space.size() == s.rows);
          }(),
          ...);
    }
    (std::make_index_sequence<count>{});
    return s;
  }

  static void run(const G& g, const call_frame<N>& f, int threads) {
    if constexpr (info.is_call) {
      call_step<G, first>::run(g, f);
    } else {
      const auto steps = make_steps(f);
      const row_split s = split_rows(f);
      [&]<std::size_t... K>(std::index_sequence<K...>) {
        if (count == 1) {
          run_alone<first>(g, f, std::get<0>(steps), threads);
        } else if (s.together) {
          run_rows(g, steps, s.rows, s.per_row, s.elements, threads);
        } else {
          (run_alone<first + K>(g, f, std::get<K>(steps), threads), ...);
        }
      }
      (std::make_index_sequence<count>{});
    }
  }

  // A step's own rows and elements per row, when it runs alone.
  template <std::size_t S>
  static std::pair<std::size_t, std::size_t> own_rows(const call_frame<N>& f) {
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
    return threads > 1 && elements >= parallel_threshold && !has_impure ? threads : 1;
  }

  // Rows per work item: a softmax or layer norm row block that fits in the L1 cache; for a
  // GEMM group a worker's whole share of the product's rows (Eigen packs the right-hand
  // matrix once per GEMM call, and the epilogue then reads the share from L2 or L3); for
  // pure maps the whole share, in SIMD-block multiples.
  static std::size_t rows_per_item(std::size_t rows, std::size_t row_elements, int workers) {
    const std::size_t share = (rows + workers - 1) / workers;
    std::size_t block = share;
    if (!has_matmul && info.split != plan::npos)
      block = std::max<std::size_t>(1, 4096 / std::max<std::size_t>(1, row_elements));
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
    const std::size_t block = rows_per_item(rows, elements / rows, used);
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
  static void run_alone(const G& g, const call_frame<N>& f, const Runner& step, int threads) {
    const auto [rows, per_row] = own_rows<S>(f);
    const std::size_t elements = rows * per_row;
    if (rows == 0) return;
    const int used = workers(elements, threads);
    if constexpr (plan::steps[S].kind == step_kind::map) return step.all(g, used);
    const std::size_t block = (rows + used - 1) / used;
    for_items((rows + block - 1) / block, used, [&](std::size_t begin, std::size_t end) {
      for (std::size_t item = begin; item < end; ++item)
        step.rows(g, item * block, std::min(rows, (item + 1) * block), per_row);
    });
  }

  static constexpr bool has_impure = plan::group_has_impure(Group);
  static constexpr bool has_matmul = [] {
    for (std::size_t s = first; s < first + count; ++s)
      if (plan::steps[s].kind == step_kind::matmul) return true;
    return false;
  }();
};

}  // namespace loom::cpu
