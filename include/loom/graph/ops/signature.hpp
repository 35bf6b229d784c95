#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>

#include "loom/core/dtype.hpp"

namespace loom {

// The dtype rule of an op for given input dtypes: the result type, and the type each operand
// is converted to before the op's scalar function sees it.
template <dtype Result, dtype... Operands>
struct signature {
  using result_type = Result;
  static constexpr std::size_t arity = sizeof...(Operands);
};

namespace ops {

// i32 arithmetic wraps modulo 2^32, as the SIMD instructions do. In C++ signed overflow is
// undefined, so the scalar functions compute integers in the unsigned type; floats are
// unchanged.
template <class T>
using wrapping_t = typename std::
    conditional_t<std::is_integral_v<T>, std::make_unsigned<T>, std::type_identity<T>>::type;

// Shape rule tags. Element-wise ops broadcast their operands (NumPy rules).
struct elementwise_shape {};

// Bases that state the dtype rule shared by families of ops, so each op struct only says
// what is its own: its name and its scalar and SIMD functions.
struct floating_unary {
  using shape_rule = elementwise_shape;
  static constexpr std::size_t arity = 1;
  template <class T>
  struct signature : loom::signature<floating_t<T>, floating_t<T>> {};
};

struct arithmetic_unary {
  using shape_rule = elementwise_shape;
  static constexpr std::size_t arity = 1;
  template <class T>
  struct signature : loom::signature<arithmetic_t<T>, arithmetic_t<T>> {};
};

template <class A, class B>
using common_arithmetic_t = arithmetic_t<promote_t<A, B>>;

struct arithmetic_binary {
  using shape_rule = elementwise_shape;
  static constexpr std::size_t arity = 2;
  template <class A, class B>
  struct signature : loom::signature<common_arithmetic_t<A, B>,
                                     common_arithmetic_t<A, B>,
                                     common_arithmetic_t<A, B>> {};
};

struct floating_binary {
  using shape_rule = elementwise_shape;
  static constexpr std::size_t arity = 2;
  template <class A, class B>
  struct signature : loom::signature<floating_t<promote_t<A, B>>,
                                     floating_t<promote_t<A, B>>,
                                     floating_t<promote_t<A, B>>> {};
};

struct comparison {
  using shape_rule = elementwise_shape;
  static constexpr std::size_t arity = 2;
  template <class A, class B>
  struct signature : loom::signature<bool, promote_t<A, B>, promote_t<A, B>> {};
};

}  // namespace ops
}  // namespace loom
