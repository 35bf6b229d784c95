#pragma once

// Shared helpers for loom's CPU op tests. Most of them are in tests/common/, shared with the
// CUDA tests (tests/cuda/support.hpp): seeded random fills (random_fill.hpp), shapes, flat
// indices and the broadcasting index map (shapes.hpp), NaN-aware comparisons that report the
// worst and first mismatch (compare.hpp), and the messages of expected exceptions
// (error_message.hpp). What is here is for the CPU backend only.

#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
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
// The f32 inputs most models declare.
using vec_in = loom::input<float, loom::extents<dyn>>;
using mat_in = loom::input<float, loom::extents<dyn, dyn>>;

// The extents type of a tensor or a traced value, for static_asserts on what an op gives.
template <class Tensor>
using extents_of = typename std::remove_cvref_t<Tensor>::extents_type;

// Element counts every element-wise op is run on. The CPU backend works in blocks of 64
// elements with a scalar loop for the rest of a row, and splits passes of at least
// loom::cpu::parallel_threshold (2^15) elements over threads: 63 is all scalar tail, 64 one
// block, 65 a block and a tail, and 70001 takes the threaded path with a tail that is not a
// multiple of the block width.
inline constexpr std::array<std::size_t, 7> sizes{0, 1, 63, 64, 65, 1000, 70001};

// --- poisoned outputs ----------------------------------------------------------------------

// A value no computation gives: a quiet NaN with a payload of its own (arithmetic on NaNs
// gives the default payload), or for i32 a number no test computes. An output element that
// still holds it afterwards was never written.
template <class T>
T poison_value() {
  if constexpr (std::is_same_v<T, float>)
    return std::bit_cast<float>(std::uint32_t(0x7fc5a5a5));
  else if constexpr (std::is_same_v<T, double>)
    return std::bit_cast<double>(std::uint64_t(0x7ff8a5a5a5a5a5a5));
  else
    return T(-123456789);
}

template <class T>
bool is_poison(const T& v) {
  const T p = poison_value<T>();
  return std::memcmp(&v, &p, sizeof(T)) == 0;
}

// Every element of `t` set to the poison.
template <class Tensor>
void poison(Tensor&& t) {
  using T = std::remove_const_t<typename std::remove_cvref_t<Tensor>::element_type>;
  for (auto& v : t) v = poison_value<T>();
}

// Whether every element of `t` still holds the poison: the check that a call which threw
// wrote nothing.
template <class Tensor>
report untouched(const Tensor& t, std::string what) {
  using T = std::remove_const_t<typename Tensor::element_type>;
  report r(std::move(what) + " (still poisoned)");
  r.shape = t.shape();
  r.checked = t.size();
  for (std::size_t i = 0; i < t.size(); ++i)
    if (!is_poison(t.data()[i])) r.note(i, as_double(t.data()[i]), as_double(poison_value<T>()), 0);
  return r;
}

}  // namespace loom_test
