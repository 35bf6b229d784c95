#pragma once

#include <array>
#include <cstddef>

#include "loom/api/ops.hpp"
#include "loom/graph/ops/view.hpp"

// Views: new shapes over the same elements, read through an index map inside the fused loop
// instead of copied.
namespace loom {

// Static checks of the views, named so that a failure shows the extents in the note.
template <class From, class To>
inline constexpr bool reshape_keeps_size = [] {
  std::size_t a = 1, b = 1, unknown = 0;
  for (std::size_t d : From::dims) a = d == dyn || a == dyn ? dyn : a * d;
  for (std::size_t d : To::dims) d == dyn ? (void)++unknown : (void)(b *= d);
  if (unknown > 1) return false;
  if (a == dyn || unknown) return true;
  return a == b;
}();

template <std::size_t Rank, std::size_t... P>
inline constexpr bool is_permutation_of_axes = [] {
  if (sizeof...(P) != Rank) return false;
  std::array<bool, Rank> seen{};
  for (std::size_t p : std::array<std::size_t, sizeof...(P)>{P...}) {
    if (p >= Rank || seen[p]) return false;
    seen[p] = true;
  }
  return true;
}();

template <class From, class To>
inline constexpr bool broadcasts_to = [] {
  if (From::rank > To::rank) return false;
  // k counts the axes from the last one, where the operands align. (Counting from the first
  // compares d < To::rank - From::rank, which nvcc warns is pointless where the ranks are
  // equal.)
  for (std::size_t k = 1; k <= To::rank; ++k) {
    const bool added = k > From::rank;  // an axis the operand lacks
    const std::size_t from = added ? 1 : From::dims[From::rank - k];
    const std::size_t to = To::dims[To::rank - k];
    if (to == dyn && added) return false;
    if (to != dyn && from != dyn && from != 1 && from != to) return false;
  }
  return true;
}();

template <std::size_t Rank, std::size_t Axis>
inline constexpr bool slice_axis_in_range = Axis < Rank;

// reshape<extents<...>>(x): x's elements in row-major order under new extents; at most one
// of them dyn (inferred).
template <extents_type To, class X>
requires detail::loom_operands<X>
auto reshape(const X& x) {
  static_assert(reshape_keeps_size<typename X::extents_type, To>,
                "loom: reshape: the element counts differ, or more than one extent is dyn");
  return detail::dispatch(ops::reshape<To>{}, x);
}

// permute<P...>(x): axis d of the result is axis P[d] of x.
template <std::size_t... P, class X>
requires detail::loom_operands<X>
auto permute(const X& x) {
  static_assert(is_permutation_of_axes<X::extents_type::rank, P...>,
                "loom: permute: the axes must be a permutation of 0 .. rank-1");
  return detail::dispatch(ops::permute<P...>{}, x);
}

// transpose(x): the last two axes swapped (the matrix transpose; per matrix in a batch).
template <class X>
requires detail::loom_operands<X>
auto transpose(const X& x) {
  constexpr std::size_t rank = X::extents_type::rank;
  static_assert(rank >= 2, "loom: transpose needs rank 2 or more");
  if constexpr (rank == 2)
    return permute<1, 0>(x);
  else if constexpr (rank == 3)
    return permute<0, 2, 1>(x);
  else
    return permute<0, 1, 3, 2>(x);
}

// broadcast_to<extents<...>>(x): x repeated along new or size-1 axes (NumPy rules); a dyn
// extent keeps x's extent there.
template <extents_type To, class X>
requires detail::loom_operands<X>
auto broadcast_to(const X& x) {
  static_assert(broadcasts_to<typename X::extents_type, To>,
                "loom: broadcast_to: the operand's extents do not broadcast to the target's");
  return detail::dispatch(ops::broadcast_to<To>{}, x);
}

template <std::size_t Rank, int... A>
inline constexpr bool expand_dims_axes_valid = [] {
  unsigned seen = 0;
  for (int a : {A...}) {
    const int d = a < 0 ? a + int(Rank) : a;
    if (d < 0 || d >= int(Rank) || (seen >> d & 1u)) return false;
    seen |= 1u << d;
  }
  return Rank <= max_rank;
}();

// expand_dims<A...>(x): x with an axis of extent 1 inserted at each axis A of the result
// (negative A count from the result's last axis), as NumPy's expand_dims and torch's
// unsqueeze.
template <int... A, class X>
requires detail::loom_operands<X>
auto expand_dims(const X& x) {
  constexpr std::size_t rank = X::extents_type::rank + sizeof...(A);
  static_assert(sizeof...(A) > 0 && expand_dims_axes_valid<rank, A...>,
                "loom: expand_dims: the axes must be distinct and within the result's rank "
                "(at most 4)");
  if constexpr (expand_dims_axes_valid<rank, A...>) {
    constexpr unsigned mask = ((1u << unsigned(A < 0 ? A + int(rank) : A)) | ... | 0u);
    return detail::dispatch(ops::expand_dims<mask>{}, x);
  }
}

// slice<Axis, Begin, End, Step>(x): x[..., Begin:End:Step, ...] along Axis, with Python's
// rules for negative and out-of-range bounds.
template <std::size_t Axis,
          std::ptrdiff_t Begin,
          std::ptrdiff_t End = ops::slice_end,
          std::ptrdiff_t Step = 1,
          class X>
requires detail::loom_operands<X>
auto slice(const X& x) {
  static_assert(slice_axis_in_range<X::extents_type::rank, Axis>,
                "loom: slice: the axis is out of range for the operand's rank");
  return detail::dispatch(ops::slice<Axis, Begin, End, Step>{}, x);
}

}  // namespace loom
