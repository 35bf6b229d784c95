#pragma once

#include <array>
#include <charconv>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

#include "loom/export/text.hpp"
#include "loom/graph/node_table.hpp"

namespace loom {

namespace detail {

// jax's variable names: a to z, then ba, bb, ... (the digits of n in base 26, a for 0).
inline std::string jaxpr_var_name(std::size_t n) {
  std::string s;
  do {
    s.insert(s.begin(), char('a' + n % 26));
    n /= 26;
  } while (n > 0);
  return s;
}

template <class N>
std::string jaxpr_type() {
  using E = typename N::extents_type;
  std::string s = std::string(dtype_name<typename N::value_type>()) + "[";
  // `!=`, not `<`: E::rank may be 0, where nvcc warns that `d < 0` is pointless.
  for (std::size_t d = 0; d != E::rank; ++d) {
    s += d ? "," : "";  // two steps: see extents_string (core/shape.hpp)
    s += extent_to_string(E::dims[d]);
  }
  return s + "]";
}

// A value as Python writes it: 2.0, not 2; True; the shortest digits that read back the same.
template <class T>
std::string python_literal(T v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? "True" : "False";
  } else {
    char buf[32];
    std::string s(buf, std::to_chars(buf, buf + sizeof buf, compute_t<T>(v)).ptr);
    if constexpr (floating<T>)
      if (s.find_first_of(".ein") == std::string::npos) s += ".0";
    return s;
  }
}

// The primitive of node I with its parameters, as jax spells them where loom's op has a jax
// counterpart (reduce_max[axes=(1,) keepdims=True]), else under loom's own name.
template <class G, std::size_t I>
std::string jaxpr_primitive() {
  using N = node_t<G, I>;
  using Op = typename N::op_type;
  constexpr node_kind kind = kind_of<N>();
  std::string name(Op::name);
  if constexpr (kind == node_kind::reduction)
    if (name != "argmax") name = "reduce_" + name;
  op_params p(python_params);
  if constexpr (kind == node_kind::opaque || kind == node_kind::opaque_call) {
    p.value("fn", std::string(callable_name<typename Op::callable_type>()));
    p.flag("pure", Op::is_pure);
  }
  write_params(p, std::type_identity<Op>{});
  return name + p.str();
}

}  // namespace detail

// The graph as a jaxpr, in the spirit of jax.make_jaxpr:
//   { lambda ; a:f32[?,1024]. let
//       b:f32[?,1] = reduce_max[axes=(1,) keepdims=True] a
//       ...
//     in (f,) }
// Run-time scalars are the constvars before `;` (their values are parameters of each run, as
// closed-over constants are to a jaxpr); literals are written inline with their type;
// operands broadcast implicitly, as loom's element-wise ops do. Inputs the model never reads
// leave no node in the graph, so they are not among the binders.
template <class Model>
std::string to_jaxpr(const Model& /*compiled*/) {
  using G = typename Model::graph_type;
  constexpr const auto& nodes = node_table<G>;
  std::array<std::string, G::node_count> var, type, primitive;
  std::array<std::size_t, G::node_count> input_number{};
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using N = node_t<G, I>;
          using Op = typename N::op_type;
          type[I] = detail::jaxpr_type<N>();
          if constexpr (kind_of<N>() == node_kind::input)
            input_number[I] = Op::index;
          else if constexpr (kind_of<N>() == node_kind::literal)
            var[I] = detail::python_literal(Op::value) + ":" + type[I];
          else if constexpr (kind_of<N>() != node_kind::scalar)
            primitive[I] = detail::jaxpr_primitive<G, I>();
        }(),
        ...);
  }
  (std::make_index_sequence<G::node_count>{});

  // Names go in the order jax gives them: constvars, invars by position, then equations.
  std::size_t named = 0;
  auto binder = [&](std::size_t i) {
    var[i] = detail::jaxpr_var_name(named++);
    return var[i] + ":" + type[i];
  };
  auto append = [](std::string& list, const std::string& item) {
    list += (list.empty() ? "" : " ") + item;
  };
  std::string constvars, invars, eqns, outvars;
  for (std::size_t i = 0; i < G::node_count; ++i)
    if (nodes[i].kind == node_kind::scalar) append(constvars, binder(i));
  for (std::size_t k = 0; k < Model::input_count; ++k)
    for (std::size_t i = 0; i < G::node_count; ++i)
      if (nodes[i].kind == node_kind::input && input_number[i] == k) append(invars, binder(i));
  for (std::size_t i = 0; i < G::node_count; ++i) {
    if (primitive[i].empty()) continue;
    eqns += "\n    " + binder(i) + " = " + primitive[i];
    for (std::size_t j = 0; j < nodes[i].arity; ++j) eqns += " " + var[nodes[i].args[j]];
  }
  for (std::size_t o = 0; o < G::output_count; ++o) outvars += (o ? ", " : "") + var[G::outputs[o]];
  return "{ lambda " + constvars + "; " + invars + ". let" + eqns +
         (eqns.empty() ? "  in (" : "\n  in (") + outvars + (G::output_count == 1 ? ",) }" : ") }");
}

}  // namespace loom
