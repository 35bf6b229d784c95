#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include "loom/backends/cpu/compiled_model.hpp"
#include "loom/graph/flatten.hpp"
#include "loom/graph/input.hpp"

namespace loom {

namespace detail {

template <class S>
struct input_spec {
  using type = input<std::remove_const_t<typename S::value_type>, typename S::extents_type>;
};

template <class S>
concept input_declaration = requires {
  typename S::value_type;
  typename S::extents_type;
}
&&(tensor_like<S> || std::is_same_v<S, input<typename S::value_type, typename S::extents_type>>);

// The node that stands for placeholder K of a scripted graph.
template <class G, std::size_t K>
constexpr std::size_t placeholder_node() {
  std::size_t found = G::node_count;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using Op = typename node_t<G, I>::op_type;
          if constexpr (is_input_leaf_v<Op>)
            if (Op::index == K) found = I;
        }(),
        ...);
  }
  (std::make_index_sequence<G::node_count>{});
  return found;
}

// Every placeholder numbered K must declare the same dtype and extents: they are one input.
template <class G, std::size_t K, class T, class E>
constexpr bool placeholders_agree() {
  bool agree = true;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using Op = typename node_t<G, I>::op_type;
          if constexpr (is_input_leaf_v<Op>)
            if (Op::index == K)
              agree = agree && std::is_same_v<typename Op::value_type, T> &&
                      std::is_same_v<typename Op::extents_type, E>;
        }(),
        ...);
  }
  (std::make_index_sequence<G::node_count>{});
  return agree;
}

template <class G, std::size_t K>
constexpr auto find_input_spec() {
  constexpr std::size_t at = placeholder_node<G, K>();
  static_assert(at < G::node_count,
                "loom: a scripted graph's placeholders must be numbered 0, 1, ... without gaps");
  if constexpr (at < G::node_count) {
    using N = node_t<G, at>;
    using T = typename N::value_type;
    using E = typename N::extents_type;
    static_assert(placeholders_agree<G, K, T, E>(),
                  "loom: two placeholders with one number declare different dtypes or extents");
    return std::type_identity<input<T, E>>{};
  } else {
    return std::type_identity<void>{};
  }
}

template <class G>
constexpr std::size_t placeholder_count() {
  std::size_t n = 0;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using Op = typename node_t<G, I>::op_type;
          if constexpr (is_input_leaf_v<Op>) n = Op::index + 1 > n ? Op::index + 1 : n;
        }(),
        ...);
  }
  (std::make_index_sequence<G::node_count>{});
  return n;
}

}  // namespace detail

// Traces `model` at compile time: it is called once with a symbolic placeholder per input
// (declared by loom::input<T, extents<...>>, or taken from an example tensor's type, as
// torch.jit.trace takes example inputs), and the type it returns is the graph. No tensor
// arithmetic happens here; run-time scalars the model meets are recorded as parameters.
template <class Model, class... Inputs>
requires(!traced<Model> && !detail::is_tuple_v<std::remove_cvref_t<Model>> &&
         (detail::input_declaration<std::remove_cvref_t<Inputs>> &&
          ...)) auto compile(Model&& model, const Inputs&...) {
  return [&]<std::size_t... K>(std::index_sequence<K...>) {
    auto g = flatten(model(input_leaf<K,
                                      std::remove_const_t<typename Inputs::value_type>,
                                      typename Inputs::extents_type>{}...));
    return compiled_model<decltype(g), typename detail::input_spec<Inputs>::type...>(std::move(g));
  }
  (std::index_sequence_for<Inputs...>{});
}

// Compiles a graph written directly from loom::placeholder values (the scripted form):
// one traced value, or a tuple of them for several results.
template <class Result>
requires(traced<Result> || detail::is_tuple_v<Result>) auto compile(const Result& result) {
  auto g = flatten(result);
  using G = decltype(g);
  return [&]<std::size_t... K>(std::index_sequence<K...>) {
    return compiled_model<G, typename decltype(detail::find_input_spec<G, K>())::type...>(
        std::move(g));
  }
  (std::make_index_sequence<detail::placeholder_count<G>()>{});
}

}  // namespace loom
