#pragma once

#include <cstddef>
#include <type_traits>

#include "loom/api/ops.hpp"
#include "loom/graph/ops/reduce.hpp"

// Reductions: sum, mean, max, min, prod and argmax over all axes, or over
// `loom::axes<...>`, optionally with `loom::keepdims`:
//   loom::sum(x)                                   // every element, rank 0
//   loom::max(x, loom::axes<-1>, loom::keepdims)   // per row, [rows, 1]
namespace loom {

template <std::size_t Rank, unsigned Mask>
inline constexpr bool argmax_axes_supported = (Mask & (Mask - 1)) == 0 || Mask == (1u << Rank) - 1;

namespace detail {

template <std::size_t Rank>
constexpr unsigned all_axes_mask() {
  return (1u << Rank) - 1;
}

template <class T>
inline constexpr bool is_axes_v = false;
template <int... A>
inline constexpr bool is_axes_v<axes_t<A...>> = true;

// The axes an option names: loom::axes<...> its own, keepdims leaves `found` (all axes).
template <std::size_t Rank>
constexpr unsigned mask_of(unsigned found, keepdims_t) {
  return found;
}
template <std::size_t Rank, int... A>
constexpr unsigned mask_of(unsigned, axes_t<A...>) {
  return axes_mask<Rank, A...>();
}

// The reduction named by Kind, over the axes and with the keepdims the options give.
template <class Kind, class X, class... Options>
auto reduction(const X& x, Options...) {
  static_assert(
      sizeof...(Options) <= 2 && ((std::is_same_v<Options, keepdims_t> || is_axes_v<Options>)&&...),
      "loom: a reduction takes loom::axes<...> and/or loom::keepdims");
  constexpr std::size_t rank = X::extents_type::rank;
  constexpr unsigned mask = [] {
    unsigned m = all_axes_mask<rank>();
    ((m = mask_of<rank>(m, Options{})), ...);
    return m;
  }();
  constexpr bool keep = (std::is_same_v<Options, keepdims_t> || ...);
  if constexpr (std::is_same_v<Kind, ops::argmax_kind>)
    static_assert(argmax_axes_supported<rank, mask>,
                  "loom: argmax reduces one axis, or all of them");
  return dispatch(ops::reduce<Kind, mask, keep>{}, x);
}

template <class X>
concept reducible = traced<X> || tensor_like<X>;

}  // namespace detail

// clang-format off
template <detail::reducible X, class... O> auto sum(const X& x, O... o) { return detail::reduction<ops::sum_kind>(x, o...); }
template <detail::reducible X, class... O> auto mean(const X& x, O... o) { return detail::reduction<ops::mean_kind>(x, o...); }
template <detail::reducible X, class... O> auto max(const X& x, O... o) { return detail::reduction<ops::max_kind>(x, o...); }
template <detail::reducible X, class... O> auto min(const X& x, O... o) { return detail::reduction<ops::min_kind>(x, o...); }
template <detail::reducible X, class... O> auto prod(const X& x, O... o) { return detail::reduction<ops::prod_kind>(x, o...); }
template <detail::reducible X, class... O> auto argmax(const X& x, O... o) { return detail::reduction<ops::argmax_kind>(x, o...); }
// clang-format on

}  // namespace loom
