#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/backends/cpu/compiled_model.hpp"
#include "loom/graph/flatten.hpp"
#include "loom/graph/trace.hpp"

namespace loom::eager {

namespace detail {

// Position of each tensor among an op's operands: operand I becomes model input
// tensor_index[I] (scalars stay scalars).
template <class... X>
constexpr auto tensor_index() {
  std::array<std::size_t, sizeof...(X)> index{};
  std::size_t next = 0, i = 0;
  ((index[i++] = tensor_like<X> ? next++ : 0), ...);
  return index;
}

template <std::size_t K, class X>
auto leaf_for(const X& x) {
  if constexpr (tensor_like<X>)
    return input_leaf<K, std::remove_const_t<typename X::element_type>, typename X::extents_type>{};
  else
    return x;
}

template <class X>
auto tensors_of(const X& x) {
  if constexpr (tensor_like<X>)
    return std::tuple<const X&>(x);
  else
    return std::tuple<>{};
}

}  // namespace detail

// Eager mode: `op` runs now on concrete tensors and its result is materialised in a new
// tensor (from the buffer pool). It is the one-node graph of the op, compiled and run by the
// CPU backend, so eager and fused results come from the same scalar and SIMD functions.
template <class Op, class... X>
auto run(const Op& op, const X&... x) {
  constexpr auto index = detail::tensor_index<X...>();
  auto node = [&]<std::size_t... I>(std::index_sequence<I...>) {
    return loom::detail::trace_op(op, detail::leaf_for<index[I]>(x)...);
  }
  (std::index_sequence_for<X...>{});
  auto tensors = std::tuple_cat(detail::tensors_of(x)...);
  auto g = flatten(node);
  auto model = std::apply(
      [&](const auto&... t) {
        return compiled_model<
            decltype(g),
            input<std::remove_const_t<typename std::remove_cvref_t<decltype(t)>::element_type>,
                  typename std::remove_cvref_t<decltype(t)>::extents_type>...>(std::move(g));
      },
      tensors);
  return std::apply(model, tensors);
}

}  // namespace loom::eager
