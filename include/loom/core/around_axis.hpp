#pragma once

#include <cstddef>

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

}  // namespace loom::detail
