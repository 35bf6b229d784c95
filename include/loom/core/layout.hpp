#pragma once

#include <array>
#include <cstddef>

#include "loom/core/extents.hpp"
#include "loom/core/shape.hpp"

namespace loom {

// Where the elements of a value sit in its buffer: element (i0, i1, ...) is at
// `offset + i0 * stride[0] + i1 * stride[1] + ...`, in elements. Inputs and materialised
// values are row-major and contiguous; views (transpose, slice, broadcast_to) are the same
// buffer under other strides, so reading them copies nothing.
struct layout {
  shape dims;
  std::array<std::ptrdiff_t, max_rank> stride{};
  std::ptrdiff_t offset = 0;

  static constexpr layout contiguous(const shape& s) {
    layout l;
    l.dims = s;
    std::ptrdiff_t step = 1;
    for (std::size_t d = s.rank; d-- > 0;) {
      l.stride[d] = step;
      step *= static_cast<std::ptrdiff_t>(s.dims[d]);
    }
    return l;
  }

  bool is_contiguous() const {
    const layout dense = contiguous(dims);
    if (offset != 0) return false;
    for (std::size_t d = 0; d < dims.rank; ++d)
      if (dims.dims[d] != 1 && stride[d] != dense.stride[d]) return false;
    return true;
  }
};

}  // namespace loom
