#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/backends/common/buffers.hpp"
#include "loom/graph/input.hpp"
#include "loom/graph/type_name.hpp"

// Binding a call's tensors to a compiled model, the same for every backend: the inputs'
// dtypes and static extents are checked at compile time, their run-time shapes here, then
// every node's shape is inferred.
namespace loom {

// Named checks, so that a failed static_assert prints the input's position and both types.
template <std::size_t Input, class Compiled, class Given>
inline constexpr bool input_dtype_matches = std::is_same_v<Compiled, Given>;

template <std::size_t Input, class Compiled, class Given>
inline constexpr bool input_extents_match = [] {
  if (Compiled::rank != Given::rank) return false;
  // `!=`, not `<`: the rank may be 0, where nvcc warns that `d < 0` is pointless.
  for (std::size_t d = 0; d != Compiled::rank; ++d)
    if (Compiled::dims[d] != dyn && Given::dims[d] != dyn && Compiled::dims[d] != Given::dims[d])
      return false;
  return true;
}();

namespace detail {

[[noreturn]] LOOM_COLD inline void throw_input_shape(std::size_t k,
                                                     const shape& s,
                                                     std::size_t rank,
                                                     const std::size_t* dims) {
  throw shape_error("loom: input " + std::to_string(k) + " has shape " + s.to_string() +
                    " but the model was compiled for " + extents_string(rank, dims));
}

[[noreturn]] LOOM_COLD inline void throw_output_shape(std::size_t k,
                                                      const shape& given,
                                                      const shape& expected) {
  throw shape_error("loom: output " + std::to_string(k) + " has shape " + given.to_string() +
                    " but the model produces " + expected.to_string());
}

template <std::size_t K, class Spec, class Arg>
void bind_input(const Arg& arg, shape& s, const void*& data) {
  using E = typename Spec::extents_type;
  static_assert(input_dtype_matches<K,
                                    typename Spec::value_type,
                                    std::remove_const_t<typename Arg::element_type>>,
                "loom: an input's element type differs from the one the model was compiled for");
  static_assert(input_extents_match<K, E, typename Arg::extents_type>,
                "loom: an input's static extents differ from the ones the model was compiled for");
  if (!conforms<E>(arg.shape())) throw_input_shape(K, arg.shape(), E::rank, E::dims.data());
  s = arg.shape();
  data = arg.data();
}

// Axis A of input K, named Name, against the first input axis of that name.
template <class Specs, std::size_t K, std::size_t A, class Name, std::size_t N>
void check_named_axis(const std::array<shape, N>& in) {
  if constexpr (!std::is_same_v<Name, unnamed>) {
    constexpr std::size_t at = first_input_axis_named<Name>(static_cast<Specs*>(nullptr));
    constexpr std::size_t first = at / max_rank, axis = at % max_rank;
    if (in[K].dims[A] != in[first].dims[axis])
      throw shape_error("loom: inputs " + std::to_string(first) + " and " + std::to_string(K) +
                        " name an extent " + std::string(type_name<Name>()) + ", but input " +
                        std::to_string(first) + " has shape " + in[first].to_string() +
                        " and input " + std::to_string(K) + " has shape " + in[K].to_string());
  }
}

template <class Specs, std::size_t K, std::size_t N, std::size_t... A>
void check_named_axes(const std::array<shape, N>& in, std::index_sequence<A...>) {
  using Dims = typename std::tuple_element_t<K, Specs>::dims_type;
  (check_named_axis<Specs, K, A, dim_name_t<Dims, A>>(in), ...);
}

// Inputs whose dynamic extents share a name (loom::dims) must agree: the plan counts on it.
template <class Specs, std::size_t N, std::size_t... K>
void check_named_extents(const std::array<shape, N>& in, std::index_sequence<K...>) {
  (check_named_axes<Specs, K>(
       in, std::make_index_sequence<std::tuple_element_t<K, Specs>::extents_type::rank>{}),
   ...);
}

// The frame of one call: the inputs' shapes and buffers, and every node's shape.
template <class G, class... Inputs, class... Args>
common::call_frame<G::node_count> bind_inputs(const Args&... args) {
  static_assert(sizeof...(Args) == sizeof...(Inputs),
                "loom: a compiled model takes exactly the inputs it was compiled for");
  constexpr std::size_t count = sizeof...(Inputs);
  std::array<shape, count> in_shape{};
  std::array<const void*, count> in_data{};
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    (bind_input<K, Inputs>(args, in_shape[K], in_data[K]), ...);
  }
  (std::make_index_sequence<count>{});
  check_named_extents<std::tuple<Inputs...>>(in_shape, std::index_sequence_for<Inputs...>{});
  common::call_frame<G::node_count> frame;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using Op = typename node_t<G, I>::op_type;
          if constexpr (is_input_leaf_v<Op>) {
            frame.shapes[I] = in_shape[Op::index];
            frame.data[I] = const_cast<void*>(in_data[Op::index]);
          }
        }(),
        ...);
  }
  (std::make_index_sequence<G::node_count>{});
  common::infer_shapes<G>(frame);
  common::check_step_shapes<G>(frame);
  return frame;
}

// Output K of a call written into a caller's buffer: its element type checked at compile
// time, its shape here.
template <class G, std::size_t K, class Out>
void bind_output(Out& out, const shape& expected, void*& ptr) {
  using O = std::remove_cvref_t<Out>;
  using T = typename node_t<G, G::outputs[K]>::value_type;
  static_assert(std::is_same_v<typename O::element_type, T>,
                "loom: an output buffer's element type differs from the model's result");
  if (!(out.shape() == expected)) throw_output_shape(K, out.shape(), expected);
  ptr = out.data();
}

}  // namespace detail
}  // namespace loom
