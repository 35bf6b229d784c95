#pragma once

#include <concepts>
#include <cstddef>

#include "loom/graph/ops/binary.hpp"

namespace loom::common {

// What a backend gives the fused evaluator (evaluate.hpp) to hold values in: `width`
// consecutive elements per value (`value<T>`), loaded from memory with a step (1 dense, 0
// broadcast, else strided), set from one scalar, stored, converted between dtypes, and
// `apply<R>(op, values...)`, an op on whole values (its SIMD form, or its scalar function
// per element). The CPU's are Eigen blocks and single elements (cpu/lanes.hpp), a GPU
// thread's a pack of registers (cuda/lanes.hpp).
template <class L>
concept lanes = requires(const float* from,
                         float* to,
                         std::ptrdiff_t step,
                         const typename L::template value<float>& v) {
  { L::width } -> std::convertible_to<std::size_t>;
  { L::load(from, step) } -> std::convertible_to<typename L::template value<float>>;
  { L::splat(1.f) } -> std::convertible_to<typename L::template value<float>>;
  L::store(to, v);
  { L::template convert<double>(v) } -> std::convertible_to<typename L::template value<double>>;
  {
    L::template apply<float>(ops::add{}, v, v)
    } -> std::convertible_to<typename L::template value<float>>;
};

}  // namespace loom::common
