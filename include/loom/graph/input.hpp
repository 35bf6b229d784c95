#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/core/dtype.hpp"
#include "loom/core/extents.hpp"

namespace loom {

// An axis that loom::dims leaves unnamed.
struct unnamed {};

// Names for the extents of an input, one per axis: a tag type of the user's (`struct
// tokens;`) or loom::unnamed. Inputs whose dynamic extents share a name are one size, as
// with torch.export.Dim: the model checks that once per call, and fuses across those inputs
// as it does across the values of one input.
template <class... Names>
struct dims {
  static constexpr std::size_t count = sizeof...(Names);
};

namespace detail {

template <class D>
inline constexpr bool is_dims_v = false;
template <class... Names>
inline constexpr bool is_dims_v<dims<Names...>> = true;

// The name of axis A (loom::unnamed where Dims names no axis).
template <class Dims, std::size_t A>
struct dim_name {
  using type = unnamed;
};
template <class... Names, std::size_t A>
requires(A < sizeof...(Names)) struct dim_name<dims<Names...>, A> {
  using type = std::tuple_element_t<A, std::tuple<Names...>>;
};
template <class Dims, std::size_t A>
using dim_name_t = typename dim_name<Dims, A>::type;

template <extents_type E, class Dims>
inline constexpr bool names_only_dynamic_extents = []<std::size_t... A>(std::index_sequence<A...>) {
  return ((std::is_same_v<dim_name_t<Dims, A>, unnamed> || E::dims[A] == dyn) && ...);
}
(std::make_index_sequence<E::rank>{});

inline constexpr std::size_t unnamed_axis = ~std::size_t(0);

// The first axis that Dims names Name, as j * max_rank + axis (unnamed_axis if none): the
// key the plan and the call's check give each named extent, where j is the input's node or
// position.
template <class Dims, class Name, std::size_t... A>
constexpr std::size_t axis_named_in(std::size_t j, std::index_sequence<A...>) {
  std::size_t first = unnamed_axis;
  ((first = first == unnamed_axis && std::is_same_v<dim_name_t<Dims, A>, Name> ? j * max_rank + A
                                                                               : first),
   ...);
  return first;
}

// The first axis named Name among the inputs Specs (a std::tuple of loom::input).
template <class Name, class... Specs>
constexpr std::size_t first_input_axis_named(std::tuple<Specs...>*) {
  std::size_t first = unnamed_axis, j = 0;
  ((first = first != unnamed_axis ? first
                                  : axis_named_in<typename Specs::dims_type, Name>(
                                        j, std::make_index_sequence<Specs::extents_type::rank>{}),
    ++j),
   ...);
  return first;
}

// The checks of an input's declaration, for loom::input and loom::placeholder alike.
template <extents_type E, class Dims>
struct checked_dims {
  static_assert(is_dims_v<Dims>, "loom: an input's names are given as loom::dims<...>");
  static_assert(Dims::count == 0 || Dims::count == E::rank,
                "loom: loom::dims names every axis of the input (loom::unnamed for the others)");
  static_assert(names_only_dynamic_extents<E, Dims>, "loom: loom::dims names only dyn extents");
};

}  // namespace detail

// Declares one input of a model to compile(): its element type, static extents and,
// optionally, names for its dynamic extents.
template <dtype T, extents_type E, class Dims = dims<>>
struct input : detail::checked_dims<E, Dims> {
  using value_type = T;
  using extents_type = E;
  using dims_type = Dims;
};

}  // namespace loom
