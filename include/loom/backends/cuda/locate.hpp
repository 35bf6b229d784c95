#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "loom/backends/common/loop_nest.hpp"
#include "loom/core/config.hpp"

namespace loom::cuda {

// a / b, in 32 bits where both fit: a 64-bit division costs a GPU thread several times more.
LOOM_HD_INLINE std::size_t quotient(std::size_t a, std::size_t b) {
  if (((a | b) >> 32) == 0) return std::uint32_t(a) / std::uint32_t(b);
  return a / b;
}

// Where element `e` of a step's walk sits in each value the step reads (`leaves`), as the
// row sources the fused evaluator reads from: the same loop nest the CPU walks, indexed
// directly instead of stepped row by row.
template <std::size_t N, std::size_t L>
LOOM_HD_INLINE common::row_sources<N> locate(const common::loop_nest<N>& nest,
                                             std::size_t e,
                                             const std::array<std::size_t, L>& leaves) {
  common::row_sources<N> src;
  std::size_t at = e, row = 0;
  if (nest.rank > 1) {
    row = quotient(e, nest.dims[nest.rank - 1]);
    at = e - row * nest.dims[nest.rank - 1];
  }
  std::array<std::ptrdiff_t, L> offset{};
  for (std::size_t d = nest.rank > 1 ? nest.rank - 1 : 0; d-- > 0;) {
    const std::size_t next = quotient(row, nest.dims[d]);
    const auto index = std::ptrdiff_t(row - next * nest.dims[d]);
    row = next;
    LOOM_UNROLL
    for (std::size_t k = 0; k < L; ++k) offset[k] += index * nest.stride[leaves[k]][d];
  }
  LOOM_UNROLL
  for (std::size_t k = 0; k < L; ++k) {
    const std::size_t i = leaves[k];
    const std::ptrdiff_t step = nest.rank == 0 ? 0 : nest.stride[i][nest.rank - 1];
    src.step[i] = step;
    src.data[i] = nest.base[i] +
                  (offset[k] + std::ptrdiff_t(at) * step) * std::ptrdiff_t(nest.element_size[i]);
  }
  return src;
}

// Whether elements [e, e + count) lie in one row of the nest, so that each value steps
// through them by a fixed stride from where element e is.
template <std::size_t N>
LOOM_HD_INLINE bool in_one_row(const common::loop_nest<N>& nest, std::size_t e, std::size_t count) {
  if (nest.rank <= 1) return true;
  const std::size_t inner = nest.dims[nest.rank - 1];
  return e - quotient(e, inner) * inner + count <= inner;
}

// The sources `c` elements further along the same row of the nest.
template <std::size_t N, std::size_t L>
LOOM_HD_INLINE common::row_sources<N> advance(common::row_sources<N> src,
                                              std::size_t c,
                                              const common::loop_nest<N>& nest,
                                              const std::array<std::size_t, L>& leaves) {
  LOOM_UNROLL
  for (std::size_t k = 0; k < L; ++k) {
    const std::size_t i = leaves[k];
    src.data[i] = static_cast<const unsigned char*>(src.data[i]) +
                  std::ptrdiff_t(c) * src.step[i] * std::ptrdiff_t(nest.element_size[i]);
  }
  return src;
}

// True where every value the nest reads with step 1 along its rows, and every pointer in
// `out`, can be read and written in 16-byte packs of `V` elements from each multiple of V
// (`per_row` elements apart: 0 for one run): rows of the nest and of the walk a multiple of
// V long, buffers and row starts 16-byte aligned.
template <std::size_t N, std::size_t L, class Out>
bool packs_fit(const common::loop_nest<N>& nest,
               const std::array<std::size_t, L>& leaves,
               std::size_t per_row,
               const Out& out,
               int V) {
  auto aligned = [](const void* p) {
    return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
  };
  if (per_row % V != 0 || (nest.rank > 1 && nest.dims[nest.rank - 1] % V != 0)) return false;
  for (std::size_t k = 0; k < L; ++k) {
    const std::size_t i = leaves[k];
    if (nest.rank == 0 || nest.stride[i][nest.rank - 1] != 1) continue;
    if (!aligned(nest.base[i])) return false;
    for (std::size_t d = 0; d + 1 < nest.rank; ++d)
      if (nest.stride[i][d] * std::ptrdiff_t(nest.element_size[i]) % 16 != 0) return false;
  }
  for (const void* p : out)
    if (!aligned(p)) return false;
  return true;
}

}  // namespace loom::cuda
