#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <tuple>
#include <utility>

#include "loom/backends/cuda/call_step.hpp"
#include "loom/backends/cuda/gemm.hpp"
#include "loom/backends/cuda/kernels.hpp"

namespace loom::cuda {

// The current device's multiprocessor count, which sizes every grid.
inline int multiprocessors() {
  int device = 0, count = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device),
        "cudaDeviceGetAttribute");
  return count;
}

inline constexpr unsigned threads_per_block = 256;
// Rows up to this long get a warp each (`lanes_of_row`); longer ones a whole
// block.
inline constexpr std::size_t warp_row_limit = 2048;
inline constexpr unsigned block_rows = 1024;  // any TPR above 32: the whole block

// Whether any value of graph G is of a half-precision dtype.
template <class G>
constexpr bool has_half_precision_values() {
  return []<std::size_t... I>(std::index_sequence<I...>) {
    return (half_precision<typename node_t<G, I>::value_type> || ...);
  }
  (std::make_index_sequence<G::node_count>{});
}

// Elements per vector pack in graph G's kernels: 16 bytes of f32 (four), or of bf16 and f16
// (eight) where G holds such values, so that their loads and stores are 16 bytes wide too.
template <class G>
inline constexpr int pack_of = has_half_precision_values<G>() ? 8 : 4;

// Enough blocks to cover `items` (at `per_block` each), at most a few waves: grid-stride
// loops take the rest.
inline unsigned grid_for(std::size_t items, std::size_t per_block) {
  const std::size_t wanted = (items + per_block - 1) / per_block;
  return unsigned(std::clamp<std::size_t>(wanted, 1, std::size_t(multiprocessors()) * 32));
}

inline void check_launch(std::size_t group) {
  check(cudaGetLastError(), ("kernel launch of fusion group " + std::to_string(group)).c_str());
}

// One group of the fusion plan on `stream`: a call between kernels; a GEMM through cuBLAS
// followed by one kernel for the group's other steps (its epilogue, which reads the product
// once); or one generated kernel for the whole group. Where the run-time shapes do not split
// into the rows the plan expected, each step gets its own launch, as on the CPU.
template <class G, std::size_t Group>
struct group_launcher {
  using plan = fusion_plan<G>;
  using rows = common::group_rows<G, Group, common::step_space>;
  static constexpr std::size_t N = G::node_count;
  static constexpr auto info = plan::groups[Group];
  static constexpr std::size_t first = info.first_step;
  static constexpr std::size_t count = info.step_count;
  static constexpr int pack = pack_of<G>;
  template <std::size_t S>
  static constexpr step_kind kind = plan::steps[S].kind;

  static void run(const G& g, const common::call_frame<N>& f, cudaStream_t stream) {
    if constexpr (info.is_call) {
      call_step<G, first>::run(g, f, stream);
    } else {
      const auto steps = rows::make_steps(f);
      const auto each_alone = [&] {
        [&]<std::size_t... K>(std::index_sequence<K...>) {
          (alone<first + K>(g, f, std::get<K>(steps), stream), ...);
        }
        (std::make_index_sequence<count>{});
      };
      // `if constexpr`: a group of one step instantiates no row-block launches it never takes.
      if constexpr (count == 1) {
        each_alone();
      } else {
        const auto split = rows::split_rows(f);
        if (split.together)
          together<0>(g, f, steps, split, stream);
        else
          each_alone();
      }
    }
  }

  // Step S over its own space.
  template <std::size_t S, class Runner>
  static void alone(const G& g,
                    const common::call_frame<N>& f,
                    const Runner& step,
                    cudaStream_t stream) {
    if constexpr (kind<S> == step_kind::matmul) {
      gemm<G, S>(f, stream);
    } else if constexpr (kind<S> == step_kind::map) {
      const std::size_t total = Runner::space(f).size();
      if (total == 0) return;
      const std::size_t inner = step.nest.rank > 1 ? step.nest.inner() : 0;
      if (packs_fit(step.nest, common::step_nodes<G, S>::loads, inner, step.out, pack))
        map_kernel<G, S, pack>
            <<<grid_for(total / pack, threads_per_block), threads_per_block, 0, stream>>>(
                g, step, total);
      else
        map_kernel<G, S, 1>
            <<<grid_for(total, threads_per_block), threads_per_block, 0, stream>>>(g, step, total);
      check_launch(Group);
    } else {
      const std::size_t rows = f.shapes[plan::steps[S].node].size();
      if (rows == 0) return;
      const std::size_t per_row = Runner::space(f).size() / rows;
      if constexpr (plan::steps[S].split == plan::npos) {
        strided_reduce_kernel<G, S>
            <<<grid_for(rows, threads_per_block), threads_per_block, 0, stream>>>(
                g, step, rows, per_row);
        check_launch(Group);
      } else {
        launch_rows<S>(
            std::tuple<Runner>(step), std::array<std::size_t, 1>{per_row}, g, rows, stream);
      }
    }
  }

  // Steps [first + K, ...) of a group whose rows agree: GEMMs through cuBLAS, each run of
  // other steps as one rows kernel.
  template <std::size_t K, class Steps, class Split>
  static void together(const G& g,
                       const common::call_frame<N>& f,
                       const Steps& steps,
                       const Split& split,
                       cudaStream_t stream) {
    if constexpr (K < count) {
      if constexpr (kind<first + K> == step_kind::matmul) {
        gemm<G, first + K>(f, stream);
        together<K + 1>(g, f, steps, split, stream);
      } else {
        constexpr std::size_t end = run_end(K);
        if constexpr (end == K + 1 && kind<first + K> == step_kind::map) {
          // A lone map step (a GEMM's epilogue) needs no rows: the map kernel spreads its
          // elements over the whole GPU, where a warp per row would leave it idle.
          alone<first + K>(g, f, std::get<K>(steps), stream);
        } else {
          [&]<std::size_t... J>(std::index_sequence<J...>) {
            launch_rows<first + K>(std::make_tuple(std::get<K + J>(steps)...),
                                   std::array<std::size_t, sizeof...(J)>{split.per_row[K + J]...},
                                   g,
                                   split.rows,
                                   stream);
          }
          (std::make_index_sequence<end - K>{});
        }
        together<end>(g, f, steps, split, stream);
      }
    }
  }

  // The end of the run of steps without a GEMM that starts at step first + k.
  static constexpr std::size_t run_end(std::size_t k) {
    while (k < count && plan::steps[first + k].kind != step_kind::matmul) ++k;
    return k;
  }

  // Whether step S can read and write in packs of `pack` elements.
  template <std::size_t S, class Runner>
  static bool fits_packs(const Runner& step, std::size_t per_row) {
    if (per_row == 1) return true;  // a per-row value is computed one element at a time
    if constexpr (kind<S> == step_kind::map)
      return packs_fit(step.nest, common::step_nodes<G, S>::loads, per_row, step.out, pack);
    else
      return packs_fit(
          step.nest, common::step_nodes<G, S>::loads, per_row, std::array<void*, 0>{}, pack);
  }

  // Whether the rows can be kept in registers (see row_registers): every full step's rows
  // have the static length and each lies in one row of its loop nest.
  template <class Regs, class Steps, std::size_t Count>
  static bool keeps_rows(const Steps& steps, const std::array<std::size_t, Count>& per_row) {
    if constexpr (Regs::packs == 0) {
      return false;
    } else {
      return [&]<std::size_t... K>(std::index_sequence<K...>) {
        auto fits = [&](const auto& step, std::size_t s, std::size_t n) {
          if (!Regs::full(s)) return true;
          const auto& nest = step.nest;
          return n == Regs::row_elements && (nest.rank <= 1 || nest.dims[nest.rank - 1] % n == 0);
        };
        return (fits(std::get<K>(steps), Regs::first_step + K, per_row[K]) && ...);
      }
      (std::make_index_sequence<Count>{});
    }
  }

  template <std::size_t First, class Steps, std::size_t Count>
  static void launch_rows(const Steps& steps,
                          const std::array<std::size_t, Count>& per_row,
                          const G& g,
                          std::size_t rows,
                          cudaStream_t stream) {
    if (rows == 0) return;
    const std::size_t longest = *std::max_element(per_row.begin(), per_row.end());
    const bool packs = [&]<std::size_t... K>(std::index_sequence<K...>) {
      return (fits_packs<First + K>(std::get<K>(steps), per_row[K]) && ...);
    }
    (std::make_index_sequence<Count>{});
    using regs = row_registers<G, First, Count, pack, lanes_of_row>;
    using no_regs = row_registers<G, First, 0, pack, lanes_of_row>;
    auto launch = [&]<int V, unsigned TPR, class Regs>() {
      // A few long rows get big blocks; many rows a warp each (measured faster on an H200
      // than 8 or 16 lanes per row).
      const unsigned threads =
          TPR > 32 && rows < std::size_t(multiprocessors()) * 2 ? 1024 : threads_per_block;
      const std::size_t rows_per_block = TPR > 32 ? 1 : threads / TPR;
      rows_kernel<G, First, Steps, Count, V, TPR, Regs>
          <<<grid_for(rows, rows_per_block), threads, 0, stream>>>(g, steps, per_row, rows);
      check_launch(Group);
    };
    // Where the static extents fix the group's rows at most warp_row_limit long, no row takes
    // a block, and the two block variants are not generated (each is a kernel for ptxas to
    // compile). A step launched alone whose own rows are longer (the run-time shapes did not
    // split as planned) then gets a warp per row: correct, slower for such rows, and its sums
    // are added in the warp's order, not the block's.
    constexpr bool long_rows = regs::row_elements == 0 || regs::row_elements > warp_row_limit;
    const bool block = long_rows && longest > warp_row_limit;
    if (packs && !block && keeps_rows<regs>(steps, per_row))
      launch.template operator()<pack, lanes_of_row, regs>();
    else if (packs && !block)
      launch.template operator()<pack, lanes_of_row, no_regs>();
    else if (!block)
      launch.template operator()<1, lanes_of_row, no_regs>();
    else if constexpr (long_rows) {
      if (packs)
        launch.template operator()<pack, block_rows, no_regs>();
      else
        launch.template operator()<1, block_rows, no_regs>();
    }
  }
};

}  // namespace loom::cuda
