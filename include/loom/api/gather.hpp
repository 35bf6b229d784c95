#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "loom/api/ops.hpp"
#include "loom/core/around_axis.hpp"
#include "loom/core/config.hpp"
#include "loom/core/errors.hpp"
#include "loom/core/shape.hpp"
#include "loom/graph/opaque.hpp"
#include "loom/graph/ops/onnx_form.hpp"

// take_along_axis: reads chosen elements along one axis at integer indices held in a tensor
// (numpy.take_along_axis, torch.gather). Where each element is read from depends on data, which
// a fused loop's index maps cannot express, so it is a whole-tensor node of loom's own:
// an allow_in_graph<F> with a backward (a scatter-add), a GPU form
// (backends/cuda/gather.hpp) and an ONNX form (GatherElements).
namespace loom {

namespace detail {

[[noreturn]] LOOM_COLD inline void throw_index_out_of_range(std::int32_t index, std::size_t along) {
  throw index_error("loom: take_along_axis: index " + std::to_string(index) +
                    " is outside an axis of extent " + std::to_string(along));
}

// An index in [-along, along) as an offset along the axis; loom::index_error otherwise.
inline std::size_t index_along(std::int32_t index, std::size_t along) {
  const long long k = wrapped_index(index, along);
  if (k < 0 || k >= (long long)along) throw_index_out_of_range(index, along);
  return std::size_t(k);
}

// Calls read(at, from) for each element `at` of indices (row-major), with `from` the
// element of the operand (of shape `operand`) it reads along Axis. Every index is checked
// before the first read, so that a bad one throws before anything is written.
template <std::size_t Axis, class I, class Read>
void for_each_read(I indices, const shape& operand, Read read) {
  const around_axis from = split_at(operand, Axis), to = split_at(indices.shape(), Axis);
  for (std::size_t at = 0; at < indices.size(); ++at) index_along(indices.data()[at], from.along);
  for (std::size_t o = 0; o < to.outer; ++o)
    for (std::size_t j = 0; j < to.along; ++j)
      for (std::size_t i = 0; i < to.inner; ++i) {
        const std::size_t at = offset_around(to, o, j, i);
        const auto k = std::size_t(wrapped_index(indices.data()[at], from.along));
        read(at, offset_around(from, o, k, i));
      }
}

// out[o, j, i] = x[o, indices[o, j, i], i] on host views.
template <std::size_t Axis, class X, class I, class Out>
requires X::memory_space::host_accessible void gather_along(X x, I indices, Out out) {
  for_each_read<Axis>(indices, x.shape(), [&](std::size_t at, std::size_t from) {
    out.data()[at] = x.data()[from];
  });
}

// The backward of gather_along: grad_x is zero but where an element was read, which gets the
// sum of the cotangents of its reads (added in f32 for a half-precision gradient, and
// rounded once).
template <std::size_t Axis, class I, class G, class GX>
requires GX::memory_space::host_accessible void scatter_add_along(I indices, G grad, GX grad_x) {
  using T = typename GX::value_type;
  const auto add_into = [&](auto* sums) {
    for_each_read<Axis>(indices, grad_x.shape(), [&](std::size_t at, std::size_t from) {
      sums[from] += compute_t<T>(grad.data()[at]);
    });
  };
  if constexpr (half_precision<T>) {
    std::vector<float> sums(grad_x.size(), 0.f);
    add_into(sums.data());
    std::copy(sums.begin(), sums.end(), grad_x.data());
  } else {
    std::fill(grad_x.data(), grad_x.data() + grad_x.size(), T(0));
    add_into(grad_x.data());
  }
}

// take_along_axis's node. On the GPU the same calls end with the stream, and find the device
// forms of gather_along and scatter_add_along by argument-dependent lookup.
template <std::size_t Axis>
struct take_along {
  using granularity = whole_tensor;
  static constexpr std::string_view onnx_op = "GatherElements";
  static constexpr std::string_view onnx_domain = "";
  static constexpr std::array<onnx_int_attribute, 1> onnx_attributes{{{"axis", Axis}}};

  template <class X, class I>
  using output_extents = I;
  static constexpr std::size_t output_extents_of_input = 1;
  static shape output_shape(const shape& x, const shape& indices) {
    for (std::size_t d = 0; d < x.rank; ++d)
      if (d != Axis && x.dims[d] != indices.dims[d])
        throw shape_error("loom: take_along_axis: indices of shape " + indices.to_string() +
                          " do not match the operand's shape " + x.to_string() +
                          " on the axes other than axis " + std::to_string(Axis));
    return indices;
  }

  template <class X, class I, class Out, class... Stream>
  void operator()(X x, I indices, Out out, Stream... stream) const {
    gather_along<Axis>(x, indices, out, stream...);
  }
  template <class X, class I, class Out, class G, class GX, class GI, class... Stream>
  void backward(X, I indices, Out, G grad, GX grad_x, GI, Stream... stream) const {
    scatter_add_along<Axis>(indices, grad, grad_x, stream...);
  }
};

// Named so that a failure shows both extents in the note.
template <class X, class I, std::size_t Axis>
inline constexpr bool indices_fit_operand = [] {
  if (X::rank != I::rank || Axis >= X::rank) return false;
  for (std::size_t d = 0; d != X::rank; ++d)
    if (d != Axis && X::dims[d] != I::dims[d] && X::dims[d] != dyn && I::dims[d] != dyn)
      return false;
  return true;
}();

}  // namespace detail

// take_along_axis<Axis>(x, indices): the elements of x at int32 `indices` along Axis (negative
// Axis counts from the last), as numpy.take_along_axis and torch.gather: result[..., j, ...] =
// x[..., indices[..., j, ...], ...]. indices has x's rank and x's extents on every other axis;
// the result has indices' extents and x's dtype. An index may be negative (from the axis's
// end); one outside [-n, n) throws loom::index_error. Its gradient adds each cotangent at the
// element it was read from.
template <int Axis, class X, class I>
requires detail::loom_operands<X, I>
auto take_along_axis(const X& x, const I& indices) {
  using XE = typename X::extents_type;
  using IE = typename I::extents_type;
  constexpr std::size_t axis = Axis < 0 ? std::size_t(Axis + int(XE::rank)) : std::size_t(Axis);
  static_assert(std::is_same_v<typename I::value_type, std::int32_t>,
                "loom: take_along_axis: the indices must be int32");
  static_assert(detail::indices_fit_operand<XE, IE, axis>,
                "loom: take_along_axis: the indices must have the operand's rank, the axis must "
                "be within it, and the other extents must be the operand's (the operand's and "
                "the indices' extents, and the axis, are named below)");
  return allow_in_graph<detail::take_along<axis>>{}(x, indices);
}

}  // namespace loom
