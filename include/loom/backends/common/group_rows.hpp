#pragma once

#include <array>
#include <cstddef>
#include <tuple>
#include <utility>

#include "loom/backends/common/frame.hpp"

namespace loom::common {

// A group of the plan, as every backend runs it: its steps over the same rows, so that the
// values a later step reads from an earlier one are still in cache (CPU) or in registers and
// shared memory (CUDA). Where the run-time shapes do not split into the same rows (dynamic
// extents that differ from what the static ones promised), each step runs over its whole
// space in turn instead: slower, equally correct.
// `Step<G, S>` is the backend's form of step S, built from the call frame (steps.hpp).
template <class G, std::size_t Group, template <class, std::size_t> class Step>
struct group_rows {
  using plan = fusion_plan<G>;
  static constexpr std::size_t N = G::node_count;
  static constexpr auto info = plan::groups[Group];
  static constexpr std::size_t first = info.first_step;
  static constexpr std::size_t count = info.step_count;

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
    return std::tuple<Step<G, first + K>...>{step_args<N>{f, row_start<first + K>()}...};
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
    const shape& full = Step<G, first>::space(f);
    const std::size_t split = info.split == plan::npos ? full.rank : info.split;
    for (std::size_t d = split; d-- > 0;) s.rows *= full.dims[d];
    s.elements = full.size();
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      (
          [&] {
            const shape& space = Step<G, first + K>::space(f);
            const bool whole = space == full;
            s.per_row[K] = whole ? (s.rows == 0 ? 0 : full.size() / s.rows) : 1;
            s.together = s.together && (whole || space.size() == s.rows);
          }(),
          ...);
    }
    (std::make_index_sequence<count>{});
    return s;
  }
};

}  // namespace loom::common
