#pragma once

#include <boost/hana/at.hpp>
#include <cstddef>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#include "loom/core/shape.hpp"
#include "loom/graph/plan.hpp"
#include "loom/graph/type_name.hpp"

namespace loom {

namespace detail {

template <class G, std::size_t I>
std::string describe_node(const G& g) {
  using N = node_t<G, I>;
  using Op = typename N::op_type;
  std::ostringstream s;
  s << '%' << I << " = ";
  constexpr node_kind kind = kind_of<N>();
  if constexpr (kind == node_kind::input) {
    s << "input " << Op::index;
  } else if constexpr (kind == node_kind::scalar) {
    s << "scalar " << +hana::at_c<I>(g.nodes).op.value << " (run-time parameter)";
  } else if constexpr (kind == node_kind::literal) {
    s << "literal " << +Op::value;
  } else {
    if constexpr (kind == node_kind::opaque)
      s << "opaque<" << type_name<typename Op::callable_type>() << '>';
    else
      s << Op::name;
    for (std::size_t a : N::args) s << " %" << a;
  }
  s << " : " << dtype_name<typename N::value_type>() << extents_string<typename N::extents_type>();
  if constexpr (kind == node_kind::opaque) {
    s << "  [element-wise, " << (Op::is_pure ? "pure" : "impure")
      << (std::is_empty_v<typename Op::callable_type> ? "" : ", stateful") << ", fused as a call]";
    if constexpr (!Op::is_pure) {
      const auto& op = hana::at_c<I>(g.nodes).op;
      if (op.alias != op.no_alias) s << " (the same call as %" << op.alias << ": F runs once)";
    }
  }
  return s.str();
}

}  // namespace detail

// The graph as text, one node a line in topological order, then its outputs.
template <class G>
std::string graph_to_text(const G& g) {
  std::string text;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((text += "  " + detail::describe_node<G, I>(g) + "\n"), ...);
  }
  (std::make_index_sequence<G::node_count>{});
  text += "  return";
  for (std::size_t o : G::outputs) text += " %" + std::to_string(o);
  return text + "\n";
}

}  // namespace loom
