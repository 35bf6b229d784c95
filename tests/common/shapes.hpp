#pragma once

// Shapes and flat indices for the tests' reference loops, shared by the CPU tests
// (tests/unit) and the CUDA tests (tests/cuda): building a loom::shape, converting between
// flat row-major indices and multi-indices, naming an index in a failure message, and the
// index map of NumPy broadcasting.
//
// Written independently of loom's own loop nests, so that a reference does not repeat the
// bug it is meant to catch. Host code only: tests/cuda/*.cu include it through nvcc.

#include <loom/loom.hpp>

#include <array>
#include <cstddef>
#include <initializer_list>
#include <string>

namespace loom_test {

// A multi-index, one entry per axis (entries past the rank are unused).
using index_t = std::array<std::size_t, loom::max_rank>;

// The run-time shape with the given extents.
inline loom::shape make_shape(std::initializer_list<std::size_t> dims) {
  loom::shape s;
  s.rank = dims.size();
  std::size_t d = 0;
  for (std::size_t e : dims) s.dims[d++] = e;
  return s;
}

// The multi-index of flat index `flat` in row-major order over `s` (0 on an axis of extent
// 0, where no element exists).
inline index_t unflatten(const loom::shape& s, std::size_t flat) {
  index_t index{};
  for (std::size_t d = s.rank; d-- > 0;) {
    index[d] = s.dims[d] ? flat % s.dims[d] : 0;
    flat = s.dims[d] ? flat / s.dims[d] : 0;
  }
  return index;
}

// The row-major flat index of multi-index `i` over `s`.
inline std::size_t flatten(const loom::shape& s, const index_t& i) {
  std::size_t flat = 0;
  for (std::size_t d = 0; d < s.rank; ++d) flat = flat * s.dims[d] + i[d];
  return flat;
}

// Flat index `flat` of shape `s` as a multi-index, e.g. "[1, 0, 4]", for failure messages.
inline std::string index_text(const loom::shape& s, std::size_t flat) {
  const index_t index = unflatten(s, flat);
  std::string t = "[";
  for (std::size_t d = 0; d < s.rank; ++d) t += (d ? ", " : "") + std::to_string(index[d]);
  return t + "]";
}

// Flat index into `in` of the element that NumPy broadcasting reads for flat index `flat` of
// an output of shape `out`: axes are aligned at the last one, and an extent of 1 (or a
// missing leading axis) always reads index 0.
inline std::size_t broadcast_source(const loom::shape& out,
                                    const loom::shape& in,
                                    std::size_t flat) {
  const index_t index = unflatten(out, flat);
  std::size_t offset = 0;
  const std::size_t lead = out.rank - in.rank;
  for (std::size_t d = 0; d < in.rank; ++d) {
    const std::size_t i = in.dims[d] == 1 ? 0 : index[d + lead];
    offset = offset * in.dims[d] + i;
  }
  return offset;
}

// The element of `t` that broadcasting reads for flat index `flat` of an output of shape
// `out`, as a double.
template <class Tensor>
double broadcast_read(const Tensor& t, const loom::shape& out, std::size_t flat) {
  return static_cast<double>(t.data()[broadcast_source(out, t.shape(), flat)]);
}

}  // namespace loom_test
