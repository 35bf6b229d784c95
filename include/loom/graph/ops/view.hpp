#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "loom/core/extents.hpp"
#include "loom/core/layout.hpp"
#include "loom/core/shape.hpp"
#include "loom/graph/node_kind.hpp"
#include "loom/graph/ops/signature.hpp"

// Views: a new shape over the same elements, as an index map (a layout) instead of a copy.
// Each descriptor gives the static extents of its result and maps its operand's layout to
// its own; the backends read a view through that layout inside the fused loop.
namespace loom::ops {

// Each view says, per axis of its result, which axis of its operand it walks unchanged
// (`source_axis`), or `new_extent` where the extent is its own: the planner uses it to tell
// which dynamic extents of different values are equal.
inline constexpr std::size_t new_extent = ~std::size_t(0);

struct view_base {
  static constexpr node_kind kind = node_kind::view;
  static constexpr std::size_t arity = 1;
  template <class T>
  struct signature : loom::signature<T, T> {};
};

template <auto Dims>
using extents_of_array =
    typename loom::detail::extents_from<Dims, std::make_index_sequence<Dims.size()>>::type;

// reshape<extents<...>>: the same elements in row-major order under new extents; one
// extent may be dyn, inferred from the element count. Reads its operand as a contiguous
// buffer, so the planner materialises an operand that is itself a strided view.
template <extents_type To>
struct reshape : view_base {
  static constexpr std::string_view name = "reshape";
  static constexpr std::string_view onnx = "Reshape";
  static constexpr bool reads_contiguous = true;
  static constexpr std::size_t source_axis(std::size_t, std::size_t) { return new_extent; }
  template <class E>
  using result_extents = To;

  static shape result_shape(const shape& in) {
    shape r;
    r.rank = To::rank;
    std::size_t known = 1, unknown = To::rank;
    // `!=`, not `<`: To::rank may be 0, where nvcc warns that `d < 0` is pointless.
    for (std::size_t d = 0; d != To::rank; ++d) {
      r.dims[d] = To::dims[d];
      if (To::dims[d] == dyn)
        unknown = d;
      else
        known *= To::dims[d];
    }
    if (unknown != To::rank) r.dims[unknown] = known == 0 ? 0 : in.size() / known;
    if (r.size() != in.size())
      throw shape_error("loom: reshape: " + in.to_string() + " has " + std::to_string(in.size()) +
                        " elements, which do not fit extents " + extents_string<To>());
    return r;
  }
  static layout view_layout(const layout& in) {
    layout l = layout::contiguous(result_shape(in.dims));
    l.offset = in.offset;
    return l;
  }
};

// permute<P...>: axis d of the result is axis P[d] of the operand.
template <std::size_t... P>
struct permute : view_base {
  static constexpr std::string_view name = "permute";
  static constexpr std::string_view onnx = "Transpose";
  static constexpr std::array<std::size_t, sizeof...(P)> order{P...};
  static constexpr std::size_t source_axis(std::size_t d, std::size_t) { return order[d]; }
  template <class E>
  using result_extents = extents<E::dims[P]...>;

  static shape result_shape(const shape& in) { return view_layout(layout::contiguous(in)).dims; }
  static layout view_layout(const layout& in) {
    layout l = in;
    for (std::size_t d = 0; d < sizeof...(P); ++d) {
      l.dims.dims[d] = in.dims.dims[order[d]];
      l.stride[d] = in.stride[order[d]];
    }
    return l;
  }
};

// broadcast_to<extents<...>>: NumPy broadcasting to the given extents; a dyn extent takes
// the operand's extent on that axis. Broadcast axes read one element again (stride 0).
template <extents_type To>
struct broadcast_to : view_base {
  static constexpr std::string_view name = "broadcast_to";
  static constexpr std::string_view onnx = "Expand";
  static constexpr std::size_t source_axis(std::size_t d, std::size_t operand_rank) {
    const std::size_t lead = To::rank - operand_rank;
    return d >= lead && To::dims[d] == dyn ? d - lead : new_extent;
  }
  template <class E>
  using result_extents = To;

  static shape result_shape(const shape& in) { return view_layout(layout::contiguous(in)).dims; }
  static layout view_layout(const layout& in) {
    layout l;
    l.offset = in.offset;
    l.dims.rank = To::rank;
    const std::size_t lead = To::rank - in.dims.rank;
    for (std::size_t d = 0; d != To::rank; ++d) {
      const bool has = d >= lead;
      const std::size_t from = has ? in.dims.dims[d - lead] : 1;
      const std::size_t to = To::dims[d] == dyn ? from : To::dims[d];
      if (from != to && from != 1)
        throw shape_error("loom: broadcast_to: " + in.dims.to_string() + " does not broadcast to " +
                          extents_string<To>());
      l.dims.dims[d] = to;
      l.stride[d] = has && from == to ? in.stride[d - lead] : 0;
    }
    return l;
  }
};

// expand_dims<Mask>: the operand with an axis of extent 1 inserted at each result axis in
// Mask (a bit per axis of the result), as NumPy's expand_dims. Gradients use it to put back
// the axes a reduction dropped.
template <unsigned Mask>
struct expand_dims : view_base {
  static constexpr std::string_view name = "expand_dims";
  static constexpr std::string_view onnx = "Unsqueeze";
  static constexpr unsigned mask = Mask;
  static constexpr bool inserted(std::size_t d) { return (Mask >> d & 1u) != 0; }
  // The operand's axis that result axis d (not inserted) walks.
  static constexpr std::size_t operand_axis(std::size_t d) {
    return d - std::size_t(std::popcount(Mask & ((1u << d) - 1u)));
  }
  static constexpr std::size_t source_axis(std::size_t d, std::size_t) {
    return inserted(d) ? new_extent : operand_axis(d);
  }

  template <class E>
  static constexpr auto result_dims() {
    std::array<std::size_t, E::rank + std::popcount(Mask)> dims{};
    for (std::size_t d = 0; d != dims.size(); ++d)
      dims[d] = inserted(d) ? 1 : E::dims[operand_axis(d)];
    return dims;
  }
  template <class E>
  using result_extents = extents_of_array<result_dims<E>()>;

  static shape result_shape(const shape& in) { return view_layout(layout::contiguous(in)).dims; }
  static layout view_layout(const layout& in) {
    layout l;
    l.offset = in.offset;
    l.dims.rank = in.dims.rank + std::size_t(std::popcount(Mask));
    for (std::size_t d = 0; d != l.dims.rank; ++d) {
      l.dims.dims[d] = inserted(d) ? 1 : in.dims.dims[operand_axis(d)];
      l.stride[d] = inserted(d) ? 0 : in.stride[operand_axis(d)];
    }
    return l;
  }
};

// slice<Axis, Begin, End, Step>: elements Begin, Begin + Step, ... before End along Axis, with
// Python's rules: negative bounds count from the end, and bounds are clamped to the extent.
inline constexpr std::ptrdiff_t slice_end = std::numeric_limits<std::ptrdiff_t>::max();

struct slice_bounds {
  std::size_t begin, count;
};

constexpr slice_bounds clamp_slice(std::size_t extent,
                                   std::ptrdiff_t begin,
                                   std::ptrdiff_t end,
                                   std::ptrdiff_t step) {
  const auto n = static_cast<std::ptrdiff_t>(extent);
  auto clamp = [n](std::ptrdiff_t i) {
    if (i < 0) i += n;
    return i < 0 ? std::ptrdiff_t(0) : i > n ? n : i;
  };
  const std::ptrdiff_t b = clamp(begin), e = clamp(end);
  return {std::size_t(b), e > b ? std::size_t((e - b + step - 1) / step) : 0};
}

// A slice's bounds as data, for the planner.
struct slice_spec {
  std::ptrdiff_t begin = 0, end = 0, step = 0;  // step 0: not a slice
};

// Whether two slices of one axis give the same extent whatever the axis's extent: x[1:] and
// x[:-1] do. Past its bounds, a slice's extent stays constant or grows by one every `step`,
// so agreeing on every extent up to past all four bounds and two steps more is agreeing on
// all. Bounds further than `checked` from 0 are not compared (taken as different).
constexpr bool same_slice_extent(slice_spec a, slice_spec b) {
  constexpr std::ptrdiff_t checked = 1024;
  std::ptrdiff_t far = 2 * (a.step + b.step);
  for (std::ptrdiff_t bound : {a.begin, a.end, b.begin, b.end}) {
    if (bound == slice_end) continue;
    if (bound > checked || bound < -checked) return false;
    far += bound < 0 ? -bound : bound;
  }
  for (std::ptrdiff_t n = 0; n <= far; ++n)
    if (clamp_slice(std::size_t(n), a.begin, a.end, a.step).count !=
        clamp_slice(std::size_t(n), b.begin, b.end, b.step).count)
      return false;
  return true;
}

template <std::size_t Axis, std::ptrdiff_t Begin, std::ptrdiff_t End, std::ptrdiff_t Step>
struct slice : view_base {
  static_assert(Step > 0, "loom: slice: the step must be positive");
  static constexpr std::string_view name = "slice";
  static constexpr std::string_view onnx = "Slice";
  static constexpr std::size_t axis = Axis, step = Step;
  static constexpr std::ptrdiff_t begin = Begin, end = End;
  static constexpr slice_spec spec{Begin, End, Step};
  static constexpr std::size_t source_axis(std::size_t d, std::size_t) {
    return d == Axis ? new_extent : d;
  }

  template <class E>
  static constexpr auto result_dims() {
    std::array<std::size_t, E::rank> dims = E::dims;
    if (dims[Axis] != dyn) dims[Axis] = clamp_slice(dims[Axis], Begin, End, Step).count;
    return dims;
  }
  template <class E>
  using result_extents = extents_of_array<result_dims<E>()>;

  static shape result_shape(const shape& in) { return view_layout(layout::contiguous(in)).dims; }
  static layout view_layout(const layout& in) {
    layout l = in;
    const slice_bounds b = clamp_slice(in.dims.dims[Axis], Begin, End, Step);
    l.offset += static_cast<std::ptrdiff_t>(b.begin) * in.stride[Axis];
    l.stride[Axis] *= Step;
    l.dims.dims[Axis] = b.count;
    return l;
  }
};

}  // namespace loom::ops
