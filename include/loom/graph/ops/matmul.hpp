#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "loom/core/extents.hpp"
#include "loom/core/shape.hpp"
#include "loom/graph/node_kind.hpp"
#include "loom/graph/ops/onnx_form.hpp"
#include "loom/graph/ops/signature.hpp"

namespace loom {

// Static checks of matmul, named so that a failed one shows both extents in the note.
template <class A, class B>
inline constexpr bool matmul_ranks_supported = (A::rank == 2 || A::rank == 3) &&
                                               (B::rank == 2 || B::rank == 3);

template <class A, class B>
inline constexpr bool matmul_inner_extents_agree = [] {
  if constexpr (matmul_ranks_supported<A, B>) {
    const std::size_t k1 = A::dims[A::rank - 1], k2 = B::dims[B::rank - 2];
    return k1 == dyn || k2 == dyn || k1 == k2;
  } else {
    return true;
  }
}();

template <class A, class B>
inline constexpr bool matmul_batches_agree = [] {
  if constexpr (A::rank == 3 && B::rank == 3) {
    const std::size_t a = A::dims[0], b = B::dims[0];
    return a == dyn || b == dyn || a == b || a == 1 || b == 1;
  } else {
    return true;
  }
}();

namespace ops {

// Matrix product over the last two axes: [M, K] x [K, N] -> [M, N], and batched, where a
// rank-3 operand holds a batch of matrices and a rank-2 one is shared by every batch. Runs
// as a library GEMM; its element-wise consumers run as the GEMM's epilogue.
struct matmul {
  static constexpr node_kind kind = node_kind::matmul;
  static constexpr std::string_view name = "matmul";
  static constexpr onnx_form onnx{onnx_step{"MatMul"}};
  static constexpr std::size_t arity = 2;
  template <class A, class B>
  struct signature : loom::signature<floating_t<promote_t<A, B>>,
                                     floating_t<promote_t<A, B>>,
                                     floating_t<promote_t<A, B>>> {};

  template <class A, class B>
  static constexpr auto result_dims() {
    constexpr std::size_t rank = A::rank > B::rank ? A::rank : B::rank;
    std::array<std::size_t, rank> dims{};
    if constexpr (rank == 3) {
      const std::size_t a = A::rank == 3 ? A::dims[0] : 1, b = B::rank == 3 ? B::dims[0] : 1;
      dims[0] = a == 1 ? b : b == 1 ? a : a == dyn ? b : a;
    }
    dims[rank - 2] = A::dims[A::rank - 2];
    dims[rank - 1] = B::dims[B::rank - 1];
    return dims;
  }
  template <class A, class B>
  using result_extents =
      typename detail::extents_from<result_dims<A, B>(),
                                    std::make_index_sequence<result_dims<A, B>().size()>>::type;

  static shape result_shape(const shape& a, const shape& b) {
    const std::size_t k1 = a.dims[a.rank - 1], k2 = b.dims[b.rank - 2];
    const std::size_t ba = a.rank == 3 ? a.dims[0] : 1, bb = b.rank == 3 ? b.dims[0] : 1;
    if (k1 != k2 || (ba != bb && ba != 1 && bb != 1))
      throw shape_error("loom: matmul: shapes " + a.to_string() + " and " + b.to_string() +
                        " do not multiply");
    shape r;
    r.rank = a.rank > b.rank ? a.rank : b.rank;
    if (r.rank == 3) r.dims[0] = ba == 1 ? bb : ba;
    r.dims[r.rank - 2] = a.dims[a.rank - 2];
    r.dims[r.rank - 1] = b.dims[b.rank - 1];
    return r;
  }
};

}  // namespace ops
}  // namespace loom
