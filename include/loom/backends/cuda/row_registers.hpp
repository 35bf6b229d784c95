#pragma once

#include <array>
#include <cstddef>
#include <tuple>
#include <utility>

#include "loom/backends/cuda/lanes.hpp"
#include "loom/graph/plan.hpp"

namespace loom::cuda {

// The values that several steps of a row group read along whole rows (softmax's input,
// read by its max, its sum and its output), kept in the registers of the warp that owns
// the row: the row is read from memory once, not once per step. Applies where the row
// length is static and small: each lane then holds `packs` packs of `Pack` elements of
// each kept value, at fixed positions of the row.
template <class G, std::size_t First, std::size_t Count, int Pack, unsigned Lanes>
struct row_registers {
  using plan = fusion_plan<G>;
  static constexpr std::size_t N = G::node_count;
  static constexpr std::size_t first_step = First;
  static constexpr auto group = plan::groups[plan::group_of_step(First)];

  // Steps that walk the group's whole space, row by row.
  static constexpr bool full(std::size_t s) {
    return group.split != plan::npos &&
           plan::same_dims(plan::steps[s].rank, plan::steps[s].dims, group.rank, group.dims);
  }

  // Elements per row, where the static extents fix them (0 otherwise).
  static constexpr std::size_t row_elements = [] {
    if (group.split == plan::npos) return std::size_t(0);
    std::size_t n = 1;
    // Down from the last axis: counting up, `d < group.rank` is `d < 0` for a rank-0 group,
    // which nvcc warns is pointless.
    for (std::size_t d = group.rank; d-- > group.split;) {
      if (group.dims[d] == dyn) return std::size_t(0);
      n *= group.dims[d];
    }
    return n;
  }();

  // Values read by two or more full steps.
  static constexpr std::array<bool, N> read_again = [] {
    std::array<bool, N> r{};
    for (std::size_t i = 0; i < N; ++i) {
      int readers = 0;
      for (std::size_t k = 0; k != Count; ++k)
        readers += full(First + k) && plan::per_step.loads[First + k][i];
      r[i] = readers >= 2;
    }
    return r;
  }();

  // At most 64 registers of kept values per thread, so the kernel keeps its occupancy.
  static constexpr unsigned packs = [] {
    std::size_t kept = 0;
    for (bool b : read_again) kept += b;
    const std::size_t per_lane = Pack * Lanes;
    if (kept == 0 || row_elements == 0 || row_elements % per_lane != 0) return 0u;
    const std::size_t p = row_elements / per_lane;
    return kept * p * Pack <= 64 ? unsigned(p) : 0u;
  }();

  static constexpr std::size_t first_reader(std::size_t i) {
    for (std::size_t k = 0; k != Count; ++k)
      if (full(First + k) && plan::per_step.loads[First + k][i]) return First + k;
    return plan::npos;
  }
  // The kept values step S takes from registers, and those it loads and keeps.
  template <std::size_t S>
  static constexpr std::array<bool, N> reuses = [] {
    std::array<bool, N> r{};
    for (std::size_t i = 0; i < N; ++i)
      r[i] = read_again[i] && plan::per_step.loads[S][i] && first_reader(i) != S;
    return r;
  }();
  template <std::size_t S>
  static constexpr std::array<bool, N> keeps = [] {
    std::array<bool, N> r{};
    for (std::size_t i = 0; i < N; ++i) r[i] = read_again[i] && first_reader(i) == S;
    return r;
  }();

  template <std::size_t... I>
  static auto make_storage(std::index_sequence<I...>) -> std::tuple<
      std::array<typename thread_lanes<Pack>::template value<typename node_t<G, I>::value_type>,
                 read_again[I] ? packs : 0>...>;
  // Per thread; entries of values not kept are empty.
  using storage = decltype(make_storage(std::make_index_sequence<N>{}));
};

}  // namespace loom::cuda
