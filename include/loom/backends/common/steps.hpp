#pragma once

#include <array>
#include <cstddef>
#include <type_traits>

#include "loom/backends/common/evaluate.hpp"
#include "loom/backends/common/loop_nest.hpp"
#include "loom/backends/common/reduce_order.hpp"
#include "loom/graph/ops/signature.hpp"

// The steps of a plan as plain data, for one call: where each step reads and writes, and
// the types it computes in. Every backend builds these from the call frame and walks them
// its own way (the CPU in blocks over threads, CUDA in kernels).
namespace loom::common {

// A map step: one pass over its iteration space that computes element-wise values in
// registers and stores the materialised ones.
template <class G, std::size_t Step, class Reads = plan_reads<G, Step>>
struct map_space {
  using plan = fusion_plan<G>;
  using nodes = step_nodes<G, Step, Reads>;
  static constexpr std::size_t N = G::node_count;

  loop_nest<N> nest;
  std::array<unsigned char*, nodes::store_count> out{};

  // The iteration space: the shape of the values it stores (checked equal by
  // check_step_shapes).
  static const shape& space(const call_frame<N>& f) { return f.shapes[plan::steps[Step].node]; }

  explicit map_space(const step_args<N>& s)
      : nest(make_loop_nest<G, Reads>(s.frame, space(s.frame), identity_order(), s.row_start)) {
    for (std::size_t k = 0; k < nodes::store_count; ++k)
      out[k] = static_cast<unsigned char*>(s.frame.data[nodes::stores[k]]);
  }
};

// A reduce step: for each element of the result (a "row"), a fold of the element-wise
// expression of its operand over the reduced axes. The nest visits the kept axes first and
// the reduced ones last, so each row is one contiguous range of the walk, and a reduction
// over the trailing axes reads its operand in memory order.
// Where `Reads` names a stash, the step also stores that value of each element it folds, at
// the element's place in the space, for a later step of the same rows to load.
template <class G, std::size_t Step, class Reads = plan_reads<G, Step>>
struct reduce_space {
  using plan = fusion_plan<G>;
  static constexpr std::size_t N = G::node_count;
  static constexpr std::size_t node = plan::steps[Step].node;
  static constexpr std::size_t operand = node_t<G, node>::args[0];
  using op = typename node_t<G, node>::op_type;
  using result_type = typename node_t<G, node>::value_type;
  // The dtype elements are folded in: the operand's, as the reduction's signature converts
  // it (argmax folds values and returns an index); f32 for a half-precision operand.
  template <class R, class O>
  static compute_t<O> folded_of(signature<R, O>);
  using folded_type = decltype(folded_of(
      typename op::template signature<typename node_t<G, operand>::value_type>{}));
  using fold_type = typename op::kind_type;

  static constexpr std::size_t stash = Reads::stash;
  static constexpr bool stashes = stash != plan::npos;

  loop_nest<N> nest;
  unsigned char* out;
  void* stash_data;

  static const shape& space(const call_frame<N>& f) { return f.shapes[operand]; }

  explicit reduce_space(const step_args<N>& s)
      : nest(make_loop_nest<G, Reads>(s.frame,
                                      space(s.frame),
                                      kept_then_reduced<op>(space(s.frame).rank),
                                      kept_axes<op>(space(s.frame).rank))),
        out(static_cast<unsigned char*>(s.frame.data[node])),
        stash_data(stashes ? s.frame.data[stash] : nullptr) {}
};

// One operand of a matmul, as a batch of matrices in memory.
template <class T>
struct matrix_operand {
  const T* data;
  std::ptrdiff_t batch_stride, row_stride, col_stride;
  std::size_t batches;
};

// The operand of a matmul that lies at `data` with layout `l` (rank 2, or 3 for a batch).
template <class T>
matrix_operand<T> matrix_operand_of(const T* data, const layout& l) {
  const std::size_t r = l.dims.rank;
  const bool batched = r == 3 && l.dims.dims[0] != 1;
  return {data + l.offset,
          batched ? l.stride[0] : 0,
          l.stride[r - 2],
          l.stride[r - 1],
          batched ? l.dims.dims[0] : 1};
}

// A matmul step: the product of two operands, each a contiguous matrix (or batch of them)
// or, read in place, the transpose of one.
template <class G, std::size_t Step>
struct matmul_space {
  using plan = fusion_plan<G>;
  static constexpr std::size_t N = G::node_count;
  static constexpr std::size_t node = plan::steps[Step].node;
  static constexpr std::size_t lhs = node_t<G, node>::args[0];
  static constexpr std::size_t rhs = node_t<G, node>::args[1];
  using T = typename node_t<G, node>::value_type;

  using operand = matrix_operand<T>;
  operand a, b;
  std::size_t m, k, n;
  T* out;

  static const shape& space(const call_frame<N>& f) { return f.shapes[node]; }

  static operand operand_of(const call_frame<N>& f, std::size_t i) {
    return matrix_operand_of(static_cast<const T*>(f.data[i]), f.layouts[i]);
  }

  explicit matmul_space(const step_args<N>& args)
      : a(operand_of(args.frame, lhs)), b(operand_of(args.frame, rhs)) {
    const call_frame<N>& f = args.frame;
    const shape& s = space(f);
    m = s.dims[s.rank - 2];
    n = s.dims[s.rank - 1];
    k = f.shapes[lhs].dims[f.shapes[lhs].rank - 1];
    out = static_cast<T*>(f.data[node]);
  }
};

// The data of step `Step`, whichever its kind.
template <class G, std::size_t Step>
using step_space =
    std::conditional_t<fusion_plan<G>::steps[Step].kind == step_kind::map,
                       map_space<G, Step>,
                       std::conditional_t<fusion_plan<G>::steps[Step].kind == step_kind::reduce,
                                          reduce_space<G, Step>,
                                          matmul_space<G, Step>>>;

}  // namespace loom::common
