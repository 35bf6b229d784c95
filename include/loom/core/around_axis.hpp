#pragma once

#include <cstddef>
#include <cstdint>

#include "loom/core/config.hpp"
#include "loom/core/shape.hpp"

namespace loom::detail {

// A shape seen around one axis: the elements before it (outer), along it, and after it (inner).
struct around_axis {
  std::size_t outer = 1, along = 1, inner = 1;
};
inline around_axis split_at(const shape& s, std::size_t axis) {
  around_axis a;
  for (std::size_t d = 0; d < s.rank; ++d)
    (d < axis ? a.outer : d == axis ? a.along : a.inner) *= s.dims[d];
  return a;
}

// An index along an axis of `along` elements, negative ones counting from its end (as
// NumPy's): in [0, along) where the index is in [-along, along), outside it otherwise.
LOOM_HD constexpr long long wrapped_index(std::int32_t index, std::size_t along) {
  return index < 0 ? (long long)index + (long long)along : (long long)index;
}

// Where element (o, k, i) of a value split as `a` lies: k along the axis, o before it, i after.
LOOM_HD constexpr std::size_t offset_around(around_axis a,
                                            std::size_t o,
                                            std::size_t k,
                                            std::size_t i) {
  return (o * a.along + k) * a.inner + i;
}

}  // namespace loom::detail
