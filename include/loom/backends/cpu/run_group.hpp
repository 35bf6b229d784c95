#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <exception>
#include <cstddef>

#include "loom/backends/cpu/evaluate.hpp"
#include "loom/backends/cpu/lanes.hpp"
#include "loom/backends/cpu/threads.hpp"
#include "loom/core/shape.hpp"

namespace loom::cpu {

// Elements per block of the fused loop: four AVX-512 registers of float, enough independent
// work to hide the latency of exp/tanh, few enough to stay in registers.
inline constexpr int block_width = 64;

// The run-time facts of one call: every node's shape and every input leaf's data.
template <std::size_t N>
struct call_frame {
  std::array<shape, N> shapes{};
  std::array<const void*, N> data{};
};

// A group's iteration space after merging dimensions that every operand walks the same way:
// up to three outer dimensions and one inner row walked with SIMD blocks.
template <std::size_t N>
struct loop_nest {
  std::size_t outer_rank = 0;
  std::array<std::size_t, max_rank> outer{};
  std::size_t inner = 1;
  std::array<std::array<std::size_t, max_rank>, N> outer_stride{};
  row_sources<N> base{};
  std::size_t rows() const {
    std::size_t r = 1;
    for (std::size_t d = 0; d < outer_rank; ++d) r *= outer[d];
    return r;
  }
};

template <class G, std::size_t Group>
loop_nest<G::node_count> make_loop_nest(const call_frame<G::node_count>& f, const shape& s) {
  using nodes = group_nodes<G, Group>;
  constexpr std::size_t N = G::node_count;
  // Strides of every input leaf in the output's index space; 0 along broadcast axes.
  std::array<std::array<std::size_t, max_rank>, N> stride{};
  for (std::size_t i : nodes::list) {
    if (fusion_plan<G>::nodes[i].kind != node_kind::input) continue;
    const shape& in = f.shapes[i];
    std::size_t st = 1;
    for (std::size_t d = s.rank; d-- > 0;) {
      const std::size_t offset = s.rank - in.rank;
      if (d < offset || in.dims[d - offset] == 1) {
        stride[i][d] = 0;
      } else {
        stride[i][d] = st;
        st *= in.dims[d - offset];
      }
    }
  }
  // Merge axis d into the axis after it wherever every leaf steps through both as one.
  std::array<std::size_t, max_rank> dims{};
  std::size_t rank = 0;
  std::array<std::array<std::size_t, max_rank>, N> merged{};
  for (std::size_t d = 0; d < s.rank; ++d) {
    if (s.dims[d] == 1) continue;
    bool joins = rank > 0;
    for (std::size_t i : nodes::list)
      if (joins && fusion_plan<G>::nodes[i].kind == node_kind::input)
        joins = merged[i][rank - 1] == stride[i][d] * s.dims[d];
    if (joins) {
      dims[rank - 1] *= s.dims[d];
      for (std::size_t i : nodes::list) merged[i][rank - 1] = stride[i][d];
    } else {
      dims[rank] = s.dims[d];
      for (std::size_t i : nodes::list) merged[i][rank] = stride[i][d];
      ++rank;
    }
  }
  loop_nest<N> nest;
  if (rank > 0) {
    nest.inner = dims[rank - 1];
    nest.outer_rank = rank - 1;
    for (std::size_t d = 0; d + 1 < rank; ++d) nest.outer[d] = dims[d];
  }
  for (std::size_t i : nodes::list) {
    nest.base.data[i] = f.data[i];
    nest.base.broadcast[i] = rank == 0 || merged[i][rank - 1] == 0;
    for (std::size_t d = 0; d + 1 < rank; ++d) nest.outer_stride[i][d] = merged[i][d];
  }
  return nest;
}

// Runs group `Group` of a graph: one pass over the elements of its outputs, split over
// threads above parallel_threshold elements.
template <class G, std::size_t Group>
void run_group(const G& g,
               const call_frame<G::node_count>& f,
               const std::array<void*, group_nodes<G, Group>::output_count>& out,
               const shape& s,
               int threads) {
  using nodes = group_nodes<G, Group>;
  constexpr std::size_t N = G::node_count;
  const loop_nest<N> nest = make_loop_nest<G, Group>(f, s);
  bool dense = true;
  for (std::size_t i : nodes::list)
    if (fusion_plan<G>::nodes[i].kind == node_kind::input) dense = dense && !nest.base.broadcast[i];

  // One work item is a segment [begin, end) of one row; segments are whole blocks except at
  // a row's end, so only the last one of a row has a scalar tail.
  auto segment = [&](std::size_t row, std::size_t begin, std::size_t end) {
    using byte = unsigned char;
    constexpr auto& info = fusion_plan<G>::nodes;
    // Element offset of each leaf at (row, begin).
    std::array<std::size_t, N> offset{};
    for (std::size_t rest = row, d = nest.outer_rank; d-- > 0;) {
      const std::size_t index = rest % nest.outer[d];
      rest /= nest.outer[d];
      for (std::size_t i : nodes::list) offset[i] += index * nest.outer_stride[i][d];
    }
    row_sources<N> src = nest.base;
    for (std::size_t i : nodes::list)
      if (info[i].kind == node_kind::input)
        src.data[i] = static_cast<const byte*>(src.data[i]) +
                      (offset[i] + (src.broadcast[i] ? 0 : begin)) * info[i].element_size;
    std::array<void*, nodes::output_count> o;
    for (std::size_t k = 0; k < nodes::output_count; ++k)
      o[k] = static_cast<byte*>(out[k]) +
             (row * nest.inner + begin) * info[G::outputs[nodes::outputs[k]]].element_size;
    const std::size_t n = end - begin;
    std::size_t j = 0;
    if (dense) {
      for (; j + block_width <= n; j += block_width)
        evaluate<G, Group, block_lanes<block_width>, true>::run(g, src, j, o);
    } else {
      for (; j + block_width <= n; j += block_width)
        evaluate<G, Group, block_lanes<block_width>, false>::run(g, src, j, o);
    }
    for (; j < n; ++j) evaluate<G, Group, scalar_lanes, false>::run(g, src, j, o);
  };

  const std::size_t rows = nest.rows();
  const std::size_t total = rows * nest.inner;
  if (total == 0) return;
  const bool parallel = threads > 1 && total >= parallel_threshold && !fusion_plan<G>::has_impure;
  if (!parallel) {
    for (std::size_t r = 0; r < rows; ++r) segment(r, 0, nest.inner);
    return;
  }
  // Rows are cut into segments so that a few long rows still spread over every thread.
  const std::size_t per_thread = (total + threads - 1) / threads;
  const std::size_t chunk = std::max<std::size_t>(
      block_width,
      (std::min(per_thread, nest.inner) + block_width - 1) / block_width * block_width);
  const std::size_t chunks_per_row = (nest.inner + chunk - 1) / chunk;
  const std::ptrdiff_t items = static_cast<std::ptrdiff_t>(rows * chunks_per_row);
  // An exception must not leave an OpenMP region (that terminates the program): the first one
  // is kept, the remaining work is skipped, and it is rethrown on the calling thread.
  std::exception_ptr failure;
  std::atomic<bool> failed{false};
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::ptrdiff_t item = 0; item < items; ++item) {
    if (failed.load(std::memory_order_relaxed)) continue;
    try {
      const std::size_t row = static_cast<std::size_t>(item) / chunks_per_row;
      const std::size_t begin = static_cast<std::size_t>(item) % chunks_per_row * chunk;
      segment(row, begin, std::min(begin + chunk, nest.inner));
    } catch (...) {
#pragma omp critical(loom_failure)
      if (!failed.exchange(true)) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace loom::cpu
