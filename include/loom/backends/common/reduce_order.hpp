#pragma once

#include <array>
#include <cstddef>

#include "loom/core/extents.hpp"

namespace loom::common {

// The axes of a reduction's operand (of rank `rank`) in the order its pass walks them: the
// axes reduction `Op` keeps first and those it reduces last, so that each result element is
// one contiguous range of the walk. Fused reduce steps and eager reductions both walk so.
template <class Op>
std::array<std::size_t, max_rank> kept_then_reduced(std::size_t rank) {
  std::array<std::size_t, max_rank> order{};
  std::size_t n = 0;
  for (std::size_t d = 0; d < rank; ++d)
    if (!Op::reduces(d)) order[n++] = d;
  for (std::size_t d = 0; d < rank; ++d)
    if (Op::reduces(d)) order[n++] = d;
  return order;
}

// How many of the operand's `rank` axes reduction `Op` keeps.
template <class Op>
std::size_t kept_axes(std::size_t rank) {
  std::size_t n = 0;
  for (std::size_t d = 0; d < rank; ++d) n += !Op::reduces(d);
  return n;
}

}  // namespace loom::common
