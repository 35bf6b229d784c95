#pragma once

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "loom/core/dtype.hpp"
#include "loom/core/extents.hpp"
#include "loom/graph/input.hpp"
#include "loom/graph/node_list.hpp"

namespace loom {

// What a traced program is built from. A node's type carries its element type and static
// extents; children are held by value, so an expression is a tree. `flatten` turns the tree
// into the graph (a flat, topologically ordered node list) once.
struct node_base {};

template <class T>
concept traced = std::derived_from<std::remove_cvref_t<T>, node_base>;

// Input I of the model: the symbolic stand-in `compile` passes to a traced callable, and the
// `placeholder` a scripted graph starts from. Dims names its dynamic extents (loom::dims).
template <std::size_t I, dtype T, extents_type E, class Dims = dims<>>
struct input_leaf : node_base, detail::checked_dims<E, Dims> {
  using value_type = T;
  using extents_type = E;
  using dims_type = Dims;
  static constexpr std::size_t index = I;
};

template <std::size_t I, dtype T, extents_type E, class Dims = dims<>>
using placeholder = input_leaf<I, T, E, Dims>;

// A C++ scalar met during tracing (`x * alpha`). Its value is a run-time parameter of the
// compiled model: every value shares one compiled kernel, and since the type does not carry
// the value, two scalar leaves are never merged.
template <dtype T>
struct scalar_leaf : node_base {
  using value_type = T;
  using extents_type = extents<>;
  T value;
};

namespace detail {
// A literal's value as the bits of a double: nvcc writes the template arguments of a
// generated kernel back out as C++ source, and cannot spell a floating-point infinity or
// NaN there, so the graph type carries an integer instead.
constexpr std::uint64_t literal_bits(double v) {
  return std::bit_cast<std::uint64_t>(v);
}
}  // namespace detail

// A compile-time literal (`loom::lit<2.f>`): the value lives in the type, folds into the
// generated code, and equal literals are one node.
template <std::uint64_t Bits, dtype T>
struct literal_leaf : node_base {
  using value_type = T;
  using extents_type = extents<>;
  static constexpr T value = static_cast<T>(std::bit_cast<double>(Bits));
};

template <auto V>
inline constexpr literal_leaf<detail::literal_bits(double(V)), scalar_dtype_t<decltype(V)>> lit{};

// Op applied to child nodes. Op is a descriptor from graph/ops (or an opaque callable);
// it may carry state, such as the callable object of allow_in_graph.
template <class Op, dtype T, extents_type E, class... Args>
struct apply : node_base {
  using op_type = Op;
  using value_type = T;
  using extents_type = E;
  using args_type = node_list<Args...>;
  [[no_unique_address]] Op op;
  node_list<Args...> args;  // child K is node_at<K>(args)
};

template <class T>
inline constexpr bool is_scalar_leaf_v = false;
template <class T>
inline constexpr bool is_scalar_leaf_v<scalar_leaf<T>> = true;
template <class T>
inline constexpr bool is_literal_leaf_v = false;
template <std::uint64_t Bits, class T>
inline constexpr bool is_literal_leaf_v<literal_leaf<Bits, T>> = true;

// Scalars and literals adopt the dtype of the tensor they meet (see weak_promote_t).
template <class N>
concept weak_node = is_scalar_leaf_v<N> || is_literal_leaf_v<N>;

// The same scalar or literal with another element type.
template <dtype T, class S>
constexpr scalar_leaf<T> retype(const scalar_leaf<S>& s) {
  return {{}, static_cast<T>(s.value)};
}
template <dtype T, std::uint64_t Bits, class S>
constexpr literal_leaf<Bits, T> retype(const literal_leaf<Bits, S>&) {
  return {};
}

}  // namespace loom
