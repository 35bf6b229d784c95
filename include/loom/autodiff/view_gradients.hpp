#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <utility>

#include "loom/core/around_axis.hpp"
#include "loom/core/extents.hpp"
#include "loom/core/shape.hpp"
#include "loom/graph/opaque.hpp"
#include "loom/graph/ops/view.hpp"

// The backward passes of the views that a view cannot undo, each a whole-tensor node of loom's
// own (as take_along_axis's gradient is), with GPU forms in backends/cuda/view_gradients.hpp:
// - slice: the operand's extents, zero but where the slice read, which gets the cotangent of
//   that element (a view reads an index map; it never leaves gaps);
// - reshape to extents with more than one dyn extent: the cotangent's elements under the
//   operand's shape, which a reshape view could not infer from the element count.
namespace loom::autodiff {

// out = 0, then out[o, begin + j * Step, i] = grad[o, j, i] on host views, with Slice's
// bounds clamped to out's extent along its axis.
template <class Slice, class G, class Out>
requires Out::memory_space::host_accessible void place_slice(G grad, Out out) {
  std::fill(out.data(), out.data() + out.size(), typename Out::value_type(0));
  const loom::detail::around_axis from = loom::detail::split_at(grad.shape(), Slice::axis);
  const loom::detail::around_axis to = loom::detail::split_at(out.shape(), Slice::axis);
  const std::size_t begin = ops::clamp_slice(to.along, Slice::begin, Slice::end, Slice::step).begin;
  for (std::size_t o = 0; o < from.outer; ++o)
    for (std::size_t j = 0; j < from.along; ++j)
      std::copy_n(grad.data() + loom::detail::offset_around(from, o, j, 0),
                  from.inner,
                  out.data() + loom::detail::offset_around(to, o, begin + j * Slice::step, 0));
}

// The gradient node of Slice over an operand of extents XE, called on the cotangent, and on
// the operand itself where XE's extent along the axis is dyn (only its shape is read: the
// gradient's extent along the axis is the operand's). On the GPU the call ends with the
// stream and finds the device form of place_slice by argument-dependent lookup.
template <class Slice, class XE>
struct slice_gradient {
  static constexpr bool reads_operand = XE::dims[Slice::axis] == dyn;
  static constexpr std::string_view name = "slice_gradient";

  using granularity = whole_tensor;
  template <class... E>
  using output_extents = XE;
  // The cotangent has the operand's extents on every axis but the sliced one, which is static
  // unless the operand is passed.
  static constexpr std::size_t output_extents_of_input = reads_operand ? 1 : 0;
  static shape output_shape(const shape& grad) {
    shape r = grad;
    r.dims[Slice::axis] = XE::dims[Slice::axis];
    return r;
  }
  static shape output_shape(const shape&, const shape& operand) { return operand; }

  template <class G, class... A>
  void operator()(const G& grad, const A&... a) const {
    constexpr std::size_t out_at = reads_operand ? 1 : 0;
    const auto rest = std::tie(a...);
    [&]<std::size_t... T>(std::index_sequence<T...>) {
      place_slice<Slice>(grad, std::get<out_at>(rest), std::get<out_at + 1 + T>(rest)...);
    }
    (std::make_index_sequence<sizeof...(A) - out_at - 1>{});
  }
};

// The cotangent's elements, in row-major order, copied to out on host views.
template <class G, class Out>
requires Out::memory_space::host_accessible void copy_elements(G grad, Out out) {
  std::copy_n(grad.data(), grad.size(), out.data());
}

// The gradient node of a reshape of an operand of extents XE, called on the cotangent and the
// operand (of which only the shape is read).
template <class XE>
struct reshape_gradient {
  static constexpr std::string_view name = "reshape_gradient";

  using granularity = whole_tensor;
  template <class... E>
  using output_extents = XE;
  static constexpr std::size_t output_extents_of_input = 1;
  static shape output_shape(const shape&, const shape& operand) { return operand; }

  template <class G, class X, class Out, class... Stream>
  void operator()(const G& grad, const X&, const Out& out, Stream... stream) const {
    copy_elements(grad, out, stream...);
  }
};

}  // namespace loom::autodiff
