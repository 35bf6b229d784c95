#pragma once

namespace loom {

// Why a fusion group ends: what kept the next step out of it (export/group_end_text.hpp says
// it in words).
enum class group_end {
  end_of_graph,
  call,                // the next node is a whole-tensor opaque call, a hook or a barrier
  after_call,          // this group is a call, which is never fused
  matmul,              // the next node is a GEMM, which starts a group of its own
  strided_reduction,   // a reduction over axes that are not the trailing ones runs alone
  other_axes,          // the next reduction splits the rows at another axis
  other_space,         // the next values have another iteration space
  reads_through_view,  // the next step reads a value of this group through a view
};

}  // namespace loom
