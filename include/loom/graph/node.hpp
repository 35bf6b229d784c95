#pragma once

#include <boost/hana/tuple.hpp>
#include <concepts>
#include <cstddef>
#include <type_traits>

#include "loom/core/dtype.hpp"
#include "loom/core/extents.hpp"

namespace loom {

// What a traced program is built from. A node's type carries its element type and static
// extents; children are held by value, so an expression is a tree. `flatten` turns the tree
// into the graph (a flat, topologically ordered node list) once.
struct node_base {};

template <class T>
concept traced = std::derived_from<std::remove_cvref_t<T>, node_base>;

// Input I of the model: the symbolic stand-in `compile` passes to a traced callable, and the
// `placeholder` a scripted graph starts from.
template <std::size_t I, dtype T, extents_type E>
struct input_leaf : node_base {
  using value_type = T;
  using extents_type = E;
  static constexpr std::size_t index = I;
};

template <std::size_t I, dtype T, extents_type E>
using placeholder = input_leaf<I, T, E>;

// A C++ scalar met during tracing (`x * alpha`). Its value is a run-time parameter of the
// compiled model: every value shares one compiled kernel, and since the type does not carry
// the value, two scalar leaves are never merged.
template <dtype T>
struct scalar_leaf : node_base {
  using value_type = T;
  using extents_type = extents<>;
  T value;
};

// A compile-time literal (`loom::lit<2.f>`): the value lives in the type, folds into the
// generated code, and equal literals are one node.
template <auto V, dtype T = scalar_dtype_t<decltype(V)>>
struct literal_leaf : node_base {
  using value_type = T;
  using extents_type = extents<>;
  static constexpr T value = static_cast<T>(V);
};

template <auto V>
inline constexpr literal_leaf<V> lit{};

// Op applied to child nodes. Op is a descriptor from graph/ops (or an opaque callable);
// it may carry state, such as the callable object of allow_in_graph.
template <class Op, dtype T, extents_type E, class... Args>
struct apply : node_base {
  using op_type = Op;
  using value_type = T;
  using extents_type = E;
  [[no_unique_address]] Op op;
  boost::hana::tuple<Args...> args;
};

template <class T>
inline constexpr bool is_scalar_leaf_v = false;
template <class T>
inline constexpr bool is_scalar_leaf_v<scalar_leaf<T>> = true;
template <class T>
inline constexpr bool is_literal_leaf_v = false;
template <auto V, class T>
inline constexpr bool is_literal_leaf_v<literal_leaf<V, T>> = true;

// Scalars and literals adopt the dtype of the tensor they meet (see weak_promote_t).
template <class N>
concept weak_node = is_scalar_leaf_v<N> || is_literal_leaf_v<N>;

// The same scalar or literal with another element type.
template <dtype T, class S>
constexpr scalar_leaf<T> retype(const scalar_leaf<S>& s) {
  return {{}, static_cast<T>(s.value)};
}
template <dtype T, auto V, class S>
constexpr literal_leaf<V, T> retype(const literal_leaf<V, S>&) {
  return {};
}

}  // namespace loom
