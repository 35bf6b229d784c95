#pragma once

#include <cstddef>
#include <tuple>
#include <utility>

#include "loom/backends/common/group_rows.hpp"
#include "loom/backends/common/steps.hpp"
#include "loom/backends/cuda/fold.hpp"
#include "loom/backends/cuda/lanes.hpp"
#include "loom/backends/cuda/locate.hpp"
#include "loom/backends/cuda/row_registers.hpp"

// The generated kernels. Each takes the graph by value (its scalars and opaque callables
// are the kernel's parameters) and the host-built description of its steps: the same
// loop nests and buffers the CPU backend walks. nvcc instantiates one kernel per fusion
// group from the graph type.
namespace loom::cuda {

// What device code reads of the plan: scalars, and arrays copied into locals (a device
// function cannot read a host constexpr array in place).
// Threads per row where a warp owns each row.
inline constexpr unsigned lanes_of_row = 32;

template <class G, std::size_t Step>
inline constexpr step_kind kind_of_step = fusion_plan<G>::steps[Step].kind;

template <class G, std::size_t Step, int V>
using step_eval = common::evaluate<G, Step, thread_lanes<V>, false>;

// Computes the V elements of map step `Step` at element `e` of its walk, whose values are
// read from `src`, and stores the materialised ones.
template <class G, std::size_t Step, int V, class MapStep, std::size_t N>
__device__ __forceinline__ void map_pack(const G& g,
                                         const MapStep& step,
                                         const common::row_sources<N>& src,
                                         std::size_t e) {
  using eval = step_eval<G, Step, V>;
  using nodes = common::step_nodes<G, Step>;
  typename eval::values_type v;
  eval::values(g, src, 0, v);
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    (eval::template store<nodes::stores[K]>(step.out[K], e, v), ...);
  }
  (std::make_index_sequence<nodes::store_count>{});
}

template <class G, std::size_t Step, int V, class MapStep>
__device__ __forceinline__ void map_pack(const G& g, const MapStep& step, std::size_t e) {
  constexpr auto loads = common::step_nodes<G, Step>::loads;
  map_pack<G, Step, V>(g, step, locate(step.nest, e, loads), e);
}

// Calls f(src, c) for the packs of V elements at c = t * V, (t + threads) * V, ... below
// `count`, elements [e, e + count) of step `Step`'s walk. Where they lie in one row of the
// nest (the usual case: a group's row), the sources are located once and then stepped.
// Unrolled, so that each thread has several loads in flight.
template <class G, std::size_t Step, int V, std::size_t N, class F>
__device__ __forceinline__ void each_pack(const common::loop_nest<N>& nest,
                                          std::size_t e,
                                          std::size_t count,
                                          unsigned t,
                                          unsigned threads,
                                          F&& f) {
  constexpr auto loads = common::step_nodes<G, Step>::loads;
  const std::size_t first = std::size_t(t) * V, stride = std::size_t(threads) * V;
  if (in_one_row(nest, e, count)) {
    const auto start = locate(nest, e, loads);
#pragma unroll 4
    for (std::size_t c = first; c < count; c += stride) f(advance(start, c, nest, loads), c);
  } else {
#pragma unroll 4
    for (std::size_t c = first; c < count; c += stride) f(locate(nest, e + c, loads), c);
  }
}

// A map group: a grid-stride loop over packs of V elements, then the elements after the
// last whole pack one at a time.
template <class G, std::size_t Step, int V>
__global__ void map_kernel(G g, common::map_space<G, Step> step, std::size_t total) {
  const std::size_t packs = total / V;
  const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
  const std::size_t first = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (std::size_t p = first; p < packs; p += stride) map_pack<G, Step, V>(g, step, p * V);
  if constexpr (V > 1)
    for (std::size_t e = packs * V + first; e < total; e += stride)
      map_pack<G, Step, 1>(g, step, e);
}

// The fold of reduce step `Step` over the elements [e, e + count) of its walk that thread
// `t` of `threads` owns, in packs of V; `c + k` numbers an element within the row.
template <class G, std::size_t Step, int V, class ReduceStep, class Fold>
__device__ __forceinline__ void fold_range(const G& g,
                                           const ReduceStep& step,
                                           std::size_t e,
                                           std::size_t count,
                                           unsigned t,
                                           unsigned threads,
                                           Fold& fold) {
  using eval = step_eval<G, Step, V>;
  using folded = typename ReduceStep::folded_type;
  constexpr std::size_t operand = ReduceStep::operand;
  each_pack<G, Step, V>(step.nest, e, count, t, threads, [&](const auto& src, std::size_t c) {
    typename eval::values_type v;
    eval::values(g, src, 0, v);
#pragma unroll
    for (int k = 0; k < V; ++k)
      fold.add(static_cast<folded>(eval::template at<operand>(v).lane[k]), c + k);
  });
}

template <class ReduceStep>
using fold_of = device_fold<typename ReduceStep::fold_type, typename ReduceStep::folded_type>;

// Runs `use(v, c)` for each pack of step `Step` in a row whose values are partly kept in
// registers (`Regs`): lane t's packs sit at c = (t + Lanes k) * V for k < Regs::packs, the
// same places in every step, so a value one step loaded is the one a later step needs.
template <class G, std::size_t Step, int V, class Regs, class Runner, class Use>
__device__ __forceinline__ void each_kept_pack(const G& g,
                                               const Runner& step,
                                               std::size_t e,
                                               unsigned t,
                                               typename Regs::storage& regs,
                                               Use&& use) {
  using eval = step_eval<G, Step, V>;
  using nodes = common::step_nodes<G, Step>;
  constexpr auto loads = nodes::loads;
  const auto start = locate(step.nest, e, loads);
#pragma unroll
  for (unsigned k = 0; k < Regs::packs; ++k) {
    const std::size_t c = (std::size_t(t) + std::size_t(lanes_of_row) * k) * V;
    typename eval::values_type v;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            if constexpr (Regs::template reuses<Step>[I])
              eval::template at<I>(v) = std::get<I>(regs)[k];
          }(),
          ...);
      eval::template values_after<Regs::template reuses<Step>>(
          g, advance(start, c, step.nest, loads), 0, v);
      (
          [&] {
            if constexpr (Regs::template keeps<Step>[I])
              std::get<I>(regs)[k] = eval::template at<I>(v);
          }(),
          ...);
    }
    (std::make_index_sequence<G::node_count>{});
    use(v, c);
  }
}

// One step of a row group, on row `r`, by `threads` threads that then synchronise. A row
// past the end (`active` false) takes part in the merges and barriers with no elements.
// With `Regs` (packs > 0), steps over whole rows take the values kept in `regs`.
template <class G, std::size_t Step, int V, unsigned TPR, class Regs, class Runner>
__device__ __forceinline__ void row_step(const G& g,
                                         const Runner& step,
                                         std::size_t r,
                                         std::size_t per_row,
                                         bool active,
                                         unsigned t,
                                         unsigned threads,
                                         typename Regs::storage& regs) {
  const std::size_t e = r * per_row, count = active ? per_row : 0;
  constexpr bool kept_rows = Regs::packs > 0 && Regs::full(Step);
  if constexpr (kind_of_step<G, Step> == step_kind::map) {
    using nodes = common::step_nodes<G, Step>;
    if constexpr (kept_rows) {
      if (active)
        each_kept_pack<G, Step, V, Regs>(g, step, e, t, regs, [&](const auto& v, std::size_t c) {
          [&]<std::size_t... K>(std::index_sequence<K...>) {
            (step_eval<G, Step, V>::template store<nodes::stores[K]>(step.out[K], e + c, v), ...);
          }
          (std::make_index_sequence<nodes::store_count>{});
        });
    } else if (per_row == 1) {
      if (t == 0 && active) map_pack<G, Step, 1>(g, step, e);
    } else {
      each_pack<G, Step, V>(step.nest, e, count, t, threads, [&](const auto& src, std::size_t c) {
        map_pack<G, Step, V>(g, step, src, e + c);
      });
    }
  } else {
    fold_of<Runner> fold;
    if constexpr (kept_rows) {
      if (active)
        each_kept_pack<G, Step, V, Regs>(g, step, e, t, regs, [&](const auto& v, std::size_t c) {
          using folded = typename Runner::folded_type;
#pragma unroll
          for (int k = 0; k < V; ++k)
            fold.add(
                static_cast<folded>(step_eval<G, Step, V>::template at<Runner::operand>(v).lane[k]),
                c + k);
        });
    } else if (per_row % V == 0) {
      fold_range<G, Step, V>(g, step, e, count, t, threads, fold);
    } else {
      fold_range<G, Step, 1>(g, step, e, count, t, threads, fold);
    }
    if constexpr (TPR > 32)
      fold = block_merge(fold);
    else
      fold = warp_merge<TPR>(fold);
    using R = typename Runner::result_type;
    if (t == 0 && active) reinterpret_cast<R*>(step.out)[r] = fold.template result<R>(per_row);
  }
  if constexpr (TPR > 32)
    __syncthreads();
  else
    __syncwarp();
}

// Steps [First, First + Count) of a group, row by row: `TPR` threads per row, a group of
// lanes of a warp (TPR <= 32) or the whole block. Values a later step reads from an earlier
// one are complete for the row after the barrier between them, and still in the L1 cache,
// or, with `Regs`, in registers. Every warp of a block runs the same rounds, so its
// barriers always see all its lanes.
template <class G,
          std::size_t First,
          class Steps,
          std::size_t Count,
          int V,
          unsigned TPR,
          class Regs>
// A block per row may have 1024 threads: the bound keeps the kernel's registers within
// what that many threads can have (64 each), or the launch would fail.
__global__ void __launch_bounds__(TPR > 32 ? 1024 : 256)
    rows_kernel(G g, Steps steps, std::array<std::size_t, Count> per_row, std::size_t rows) {
  constexpr bool block = TPR > 32;
  const unsigned rows_per_block = block ? 1 : blockDim.x / TPR;
  const unsigned t = block ? threadIdx.x : threadIdx.x % TPR;
  const unsigned threads = block ? blockDim.x : TPR;
  const unsigned group = block ? 0 : threadIdx.x / TPR;
  for (std::size_t first = std::size_t(blockIdx.x) * rows_per_block; first < rows;
       first += std::size_t(gridDim.x) * rows_per_block) {
    const std::size_t r = first + group;
    typename Regs::storage regs;
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      (row_step<G, First + K, V, TPR, Regs>(
           g, std::get<K>(steps), r, per_row[K], r < rows, t, threads, regs),
       ...);
    }
    (std::make_index_sequence<Count>{});
  }
}

// A reduction whose reduced axes do not trail (a column sum): one thread per result
// element, so neighbouring threads read neighbouring elements.
template <class G, std::size_t Step>
__global__ void strided_reduce_kernel(G g,
                                      common::reduce_space<G, Step> step,
                                      std::size_t rows,
                                      std::size_t per_row) {
  using runner = common::reduce_space<G, Step>;
  using R = typename runner::result_type;
  const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
  for (std::size_t r = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; r < rows; r += stride) {
    fold_of<runner> fold;
    fold_range<G, Step, 1>(g, step, r * per_row, per_row, 0, 1, fold);
    reinterpret_cast<R*>(step.out)[r] = fold.template result<R>(per_row);
  }
}

}  // namespace loom::cuda
