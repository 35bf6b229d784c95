#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "loom/graph/ops/signature.hpp"

// What an op descriptor declares, written down as concepts and checked where a node is built
// (detail::make_node), so that a descriptor missing a piece fails with a loom: message naming
// it instead of deep inside a backend.
namespace loom::detail {
// Whether `op.scalar` takes the operands as the signature converts them and gives its result.
template <class Op, class R, class... O>
constexpr bool scalar_fits(loom::signature<R, O...>) {
  return requires(const Op& op, O... o) {
    { op.scalar(o...) } -> std::convertible_to<R>;
  };
}
}  // namespace loom::detail

namespace loom::ops {

// An element-wise op, applied to operands of dtypes T...:
// - `name`, how dumps and errors spell it;
// - `signature<T...>`, its dtype rule: a loom::signature of the result dtype and the dtype
//   each operand is converted to (the bases in signature.hpp state the common rules);
// - `scalar(converted operands...)`, its meaning, `LOOM_HD` so that both backends and every
//   reference compute with it;
// - `cost`, about how many arithmetic operations one element costs in the scalar form, so
//   that the plan can weigh what a step recomputes (fusion_plan::ops_per_element) and the
//   CPU backend which values are worth keeping instead of computing twice. The scale:
//   an addition, multiplication, comparison or select is 1, a division or square root 4, a
//   transcendental function (exp, log, tanh, sin) 10 to 20. A guess within a factor of two
//   is enough: it ranks work, it does not time it.
// Optional: `simd(blocks...)`, a form over the CPU's blocks through their member functions,
// or `simd(kit, blocks...)` where it needs the CPU's own packet code (`kit.exp`); without it
// each lane calls `scalar`. And `first_value_operand` (where's condition), and
// `returns_an_operand = true` where the result is always one of the operands, negated or not
// (relu, maximum, where): on half-precision operands it needs no rounding.
template <class Op, class... T>
concept elementwise_op = requires {
  { Op::name } -> std::convertible_to<std::string_view>;
  { Op::cost } -> std::convertible_to<int>;
  typename Op::template signature<T...>;
}
&&loom::detail::scalar_fits<Op>(typename Op::template signature<T...>{});

// A reduction's rule, folding elements of dtype T: `name`, `signature<T>`, `empty_allowed`
// (whether an empty axis has a value), and either
// - a fold: `combine` (the element-wise op that merges two partial results), `identity<T>()`
//   (the value of no elements) and `finish(folded, count)` (mean divides by the count), or
// - a choice (argmax): `beats(x, at, best, best_at)`, whether element x at index `at`
//   wins over the best so far, a rule that holds in any order of merging.
template <class Kind, class T>
concept reduction_rule = requires {
  { Kind::name } -> std::convertible_to<std::string_view>;
  typename Kind::template signature<T>;
  { Kind::empty_allowed } -> std::convertible_to<bool>;
}
&&(
    requires(T x, std::size_t count) {
      typename Kind::combine;
      { Kind::template identity<T>() } -> std::same_as<T>;
      { Kind::finish(x, count) } -> std::convertible_to<T>;
    } ||
    requires(T x, std::int64_t at) {
      { Kind::beats(x, at, x, at) } -> std::same_as<bool>;
    });

}  // namespace loom::ops
