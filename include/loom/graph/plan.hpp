#pragma once

#include "loom/graph/plan/cost.hpp"

namespace loom {

// The fusion plan of a graph, computed at compile time, as a chain of passes under
// graph/plan/, each built on the one before it and all on the node table (nodes.hpp). The
// first, extents.hpp, names each dynamic extent by where it comes from, so that the others
// know which values have equal shapes whatever the input. Then:
//
// 1. Materialised values (impure_calls.hpp, materialize.hpp): the outputs, every reduction,
//    matmul, call, and the operands that a GEMM, a call or a reshape must read from memory.
//    Everything else is element-wise and recomputed in registers wherever it is needed.
// 2. Steps, in topological order (leaves.hpp, order.hpp, steps.hpp, per_step.hpp): each
//    materialised value is produced by one step; values of one iteration space share a map
//    step (a multi-output pass) when their inputs allow.
// 3. Groups (groups.hpp): consecutive steps that split into the same rows run as one pass over
//    the rows: a softmax's max, sum and scaling, or a GEMM and its epilogue, one block of rows
//    at a time while it is in cache. Each group is one loop nest on the CPU, one kernel on a
//    GPU.
//
// Last, cost.hpp weighs each step's arithmetic per element (ops_per_element).
//
// A renamed graph (renamed_graph) has the plan of the graph it renames, computed once.
template <class G>
struct fusion_plan : plan_cost<traced_graph_t<G>> {};

}  // namespace loom
