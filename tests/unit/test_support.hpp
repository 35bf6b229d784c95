#pragma once

// Shared helpers for loom's CPU op tests. Most of them are in tests/common/, shared with the
// CUDA tests (tests/cuda/support.hpp): seeded random fills (random_fill.hpp), shapes, flat
// indices and the broadcasting index map (shapes.hpp), NaN-aware comparisons that report the
// worst and first mismatch (compare.hpp), and the messages of expected exceptions
// (error_message.hpp). What is here is for the CPU backend only.

#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <array>
#include <cstddef>
#include <type_traits>

#include "../common/compare.hpp"
#include "../common/error_message.hpp"
#include "../common/random_fill.hpp"
#include "../common/shapes.hpp"

namespace loom_test {

using loom::dyn;

template <class T>
using vec = loom::tensor<T, loom::extents<dyn>>;

// The f32 tensors most op tests work on: any extents, and the dynamic ones of rank 2 to 4.
template <class E>
using ftensor = loom::tensor<float, E>;
using mat = ftensor<loom::extents<dyn, dyn>>;
using cube = ftensor<loom::extents<dyn, dyn, dyn>>;
using hyper = ftensor<loom::extents<dyn, dyn, dyn, dyn>>;

// The extents type of a tensor or a traced value, for static_asserts on what an op gives.
template <class Tensor>
using extents_of = typename std::remove_cvref_t<Tensor>::extents_type;

// Element counts every element-wise op is run on. The CPU backend works in blocks of 64
// elements with a scalar loop for the rest of a row, and splits passes of at least 2^16
// elements over threads: 63 is all scalar tail, 64 one block, 65 a block and a tail, and
// 70001 takes the threaded path with a tail that is not a multiple of the block width.
inline constexpr std::array<std::size_t, 7> sizes{0, 1, 63, 64, 65, 1000, 70001};

}  // namespace loom_test
