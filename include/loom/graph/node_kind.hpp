#pragma once

namespace loom {

// What a node is, as the planner, the backends and explain() see it. An op descriptor names
// its kind with a `kind` member; descriptors without one are element-wise.
enum class node_kind {
  input,        // a model input (or scripted placeholder)
  scalar,       // a C++ scalar met while tracing: a run-time parameter
  literal,      // loom::lit<V>: a value in the type
  elementwise,  // an element-wise op, fused into the loop that needs it
  opaque,       // allow_in_graph<F> on elements: fused as one call per element
  reduction,    // sum, mean, max, min, prod, argmax over axes
  view,         // reshape, permute, broadcast_to, slice: an index map over a buffer
  matmul,       // a GEMM; its element-wise consumers run as its epilogue
  opaque_call,  // allow_in_graph<F> on whole tensors: F called once on materialised views
  hook,         // loom::hook: hands the materialised value to a callback
  barrier,      // loom::fusion_barrier: materialises its operand on purpose
};

// What one step of a plan does. A map step computes element-wise values over one iteration
// space and stores the ones that are materialised; a reduce step folds an element-wise
// expression over axes; a matmul step is a GEMM; a call step runs a whole-tensor opaque
// node, a hook or a fusion barrier.
enum class step_kind { map, reduce, matmul, call };

// How the planner treats each kind, in one place (a new kind is a row here):
// - in_registers: computed element by element in the loop that needs it, never stored unless
//   something needs it in memory;
// - own_step: always materialised, by a step of its own of kind `step` (map: a materialised
//   value of this kind joins a map step);
// - same_as_operand: its value is its operand's, unchanged (hooks and barriers), so it shares
//   the operand's buffer unless it is also an output.
struct kind_traits {
  bool in_registers;
  bool own_step;
  step_kind step;
  bool same_as_operand = false;
};

constexpr kind_traits traits_of(node_kind k) {
  switch (k) {
    case node_kind::scalar:
    case node_kind::literal:
    case node_kind::elementwise:
    case node_kind::opaque:
      return {true, false, step_kind::map};
    case node_kind::input:
    case node_kind::view:
      return {false, false, step_kind::map};
    case node_kind::reduction:
      return {false, true, step_kind::reduce};
    case node_kind::matmul:
      return {false, true, step_kind::matmul};
    case node_kind::opaque_call:
      return {false, true, step_kind::call};
    case node_kind::hook:
    case node_kind::barrier:
      return {false, true, step_kind::call, true};
  }
  return {};
}

template <class Op>
constexpr node_kind op_kind() {
  if constexpr (requires { Op::kind; })
    return Op::kind;
  else
    return node_kind::elementwise;
}

}  // namespace loom
