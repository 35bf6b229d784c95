#pragma once

#include <cstddef>

#include "loom/backends/common/loop_nest.hpp"
#include "loom/core/layout.hpp"
#include "loom/core/shape.hpp"

namespace loom::eager::detail {

// One operand of an eager op, as its kernel reads it: a tensor's elements, or a scalar (a
// run-time one or a literal) as a rank-0 value that broadcasts everywhere.
struct operand {
  const void* data;
  layout where;
  std::size_t element_size;

  const shape& dims() const { return where.dims; }
  common::nest_source source() const { return {&where, data, element_size}; }
};

template <class T>
operand operand_of(const T* data, const shape& s) {
  return {data, layout::contiguous(s), sizeof(T)};
}

}  // namespace loom::eager::detail
