#pragma once

#include <string_view>

#include "loom/graph/plan/group_end.hpp"

namespace loom {

// Why a fusion group ends, in the words explain() and the DOT dump print.
constexpr std::string_view group_end_text(group_end e) {
  switch (e) {
    case group_end::end_of_graph:
      return "end of graph";
    case group_end::call:
      return "the next node is an opaque whole-tensor call, a hook or a fusion barrier (a "
             "barrier: its inputs are materialised)";
    case group_end::after_call:
      return "a call runs alone, between fused groups";
    case group_end::matmul:
      return "the next node is a matmul, which runs as a GEMM with its consumers as epilogue";
    case group_end::strided_reduction:
      return "a reduction over axes other than the trailing ones runs as a pass of its own";
    case group_end::other_axes:
      return "the next reduction is over other axes (other rows)";
    case group_end::other_space:
      return "the next values have another iteration space (other extents, or dynamic extents "
             "not known to be equal)";
    case group_end::reads_through_view:
      return "the next step reads a value this group writes through a view or a broadcast "
             "across rows, so it must wait until the value is complete";
  }
  return "?";
}

}  // namespace loom
