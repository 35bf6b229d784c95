#pragma once

#include <concepts>
#include <cstddef>
#include <limits>
#include <type_traits>

#include "loom/core/config.hpp"
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

// An operand's value (of dtype From) in the dtype To that an op's signature asks for. One
// already of that dtype is taken as it is: a half-precision value, held in f32 and already
// rounded to its dtype when it was computed or loaded, is not rounded again.
LOOM_NO_EXEC_CHECK
template <class Lanes, class To, class From, class V>
LOOM_HD_INLINE decltype(auto) as_operand(const V& v) {
  if constexpr (std::is_same_v<To, From>)
    return (v);
  else
    return Lanes::template convert<To>(v);
}

// x / d where one divisor d serves a whole value x (softmax's sum, one per row): a
// multiplication by 1 / d, computed once, as hand-written softmax loops do; a division per
// element costs more than the exp. Within 1.5 ulp of x / d; where 1 / d is not a normal
// number (d near 0, infinite or NaN), the division itself, so no result changes class.
LOOM_NO_EXEC_CHECK
template <class Lanes, class T, class X>
LOOM_HD_INLINE typename Lanes::template value<T> divide_by_one_value(const X& x, T divisor) {
  const T inverse = T(1) / divisor;
  constexpr T smallest = std::numeric_limits<T>::min();
  const T magnitude = inverse < T(0) ? -inverse : inverse;
  if (magnitude >= smallest && magnitude <= T(1) / smallest)
    return Lanes::template apply<T>(ops::mul{}, x, Lanes::splat(inverse));
  return Lanes::template apply<T>(ops::div{}, x, Lanes::splat(divisor));
}

}  // namespace loom::common
