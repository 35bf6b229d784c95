#pragma once

#include <Eigen/Core>
#include <string>
#include <type_traits>

#include "loom/tensor/tensor.hpp"

// Zero-copy interop with Eigen. loom tensors are row-major; a view never transposes silently:
// a column-major Eigen matrix is refused at compile time unless the caller asks for its
// transpose explicitly with from_eigen_transposed.
namespace loom {

namespace detail {
template <class D>
using eigen_scalar_t = std::conditional_t<
    std::is_const_v<std::remove_reference_t<decltype(*std::declval<D&>().data())>>,
    const typename D::Scalar,
    typename D::Scalar>;
// Throws unless m's elements are contiguous in row-major order (for a vector: consecutive).
template <class D>
void require_contiguous(const D& m, const char* what) {
  const bool vector = D::IsVectorAtCompileTime || m.rows() == 1 || m.cols() == 1;
  const bool inner = m.innerStride() == 1 || m.size() <= 1;
  const bool outer = vector || m.outerStride() == (D::IsRowMajor ? m.cols() : m.rows());
  if (!inner || !outer)
    throw shape_error(std::string("loom: ") + what + " needs contiguous data; got inner stride " +
                      std::to_string(m.innerStride()) + " and outer stride " +
                      std::to_string(m.outerStride()) + " for a " + std::to_string(m.rows()) + "x" +
                      std::to_string(m.cols()) + " expression");
}
}  // namespace detail

// A row-major rank-2 view of an Eigen matrix or array (row-major storage, or any vector),
// or a rank-1 view of a vector when Rank is 1. Data must be contiguous (inner and outer
// strides of a plain object or Map).
template <std::size_t Rank = 2, class D>
auto from_eigen(D& m) {
  static_assert(Rank == 1 || Rank == 2, "loom: from_eigen gives rank-1 or rank-2 views");
  using T = detail::eigen_scalar_t<D>;
  if constexpr (Rank == 1) {
    static_assert(
        D::IsVectorAtCompileTime,
        "loom: from_eigen<1> needs an Eigen vector (one row or one column at compile time)");
    detail::require_contiguous(m, "from_eigen<1>");
    return tensor_view<T, extents<dyn>>(m.data(), static_cast<std::size_t>(m.size()));
  } else {
    static_assert(D::IsRowMajor || D::IsVectorAtCompileTime,
                  "loom: a column-major Eigen matrix is not a row-major tensor; use "
                  "from_eigen_transposed(m) to view its transpose without a copy");
    detail::require_contiguous(m, "from_eigen");
    return tensor_view<T, extents<dyn, dyn>>(
        m.data(), static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols()));
  }
}

// The transpose of a column-major Eigen matrix as a row-major (cols x rows) view: the same
// memory read the other way, said out loud.
template <class D>
auto from_eigen_transposed(D& m) {
  static_assert(!D::IsRowMajor,
                "loom: from_eigen_transposed is for column-major matrices; use from_eigen");
  using T = detail::eigen_scalar_t<D>;
  detail::require_contiguous(m, "from_eigen_transposed");
  return tensor_view<T, extents<dyn, dyn>>(
      m.data(), static_cast<std::size_t>(m.cols()), static_cast<std::size_t>(m.rows()));
}

// An Eigen::Map over a tensor: a row-major matrix for rank 2, a column vector for rank 1.
// Assigning it to a column-major Eigen matrix copies with the layout converted by Eigen.
template <class X>
requires tensor_like<X>
auto to_eigen(X& t) {
  using T = std::remove_pointer_t<decltype(t.data())>;
  using V = std::remove_const_t<T>;
  constexpr std::size_t rank = std::remove_cvref_t<X>::rank;
  static_assert(rank == 1 || rank == 2, "loom: to_eigen maps rank-1 and rank-2 tensors");
  if constexpr (rank == 1) {
    using M = std::conditional_t<std::is_const_v<T>,
                                 const Eigen::Matrix<V, Eigen::Dynamic, 1>,
                                 Eigen::Matrix<V, Eigen::Dynamic, 1>>;
    return Eigen::Map<M>(t.data(), static_cast<Eigen::Index>(t.size()));
  } else {
    using P = Eigen::Matrix<V, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using M = std::conditional_t<std::is_const_v<T>, const P, P>;
    return Eigen::Map<M>(
        t.data(), static_cast<Eigen::Index>(t.extent(0)), static_cast<Eigen::Index>(t.extent(1)));
  }
}

}  // namespace loom
