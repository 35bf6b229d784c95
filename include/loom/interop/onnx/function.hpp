#pragma once

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/graph/copies.hpp"
#include "loom/graph/flatten.hpp"
#include "loom/graph/type_name.hpp"
#include "loom/interop/onnx/nodes.hpp"

// Tier 1 of opaque nodes: an allow_in_graph<F> whose F declares `decomposition`, F written
// with loom ops, exports as a model-local ONNX function (a FunctionProto in the domain
// loom.functions), which stock runtimes run. The body is traced at export time on
// placeholders of the node's operand types and written by the same exporter as the model.
namespace loom::onnx_export {

inline constexpr std::string_view function_domain = "loom.functions";

// F's name as an ONNX function name: what is not a letter, digit or '_' becomes '_'
// (ns::clip<2> is ns__clip_2_).
inline std::string function_name(std::string_view f) {
  std::string name(f);
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  return name;
}

// A function holds no initializers: the body's constants become Constant nodes, ahead of the
// nodes that read them.
inline void move_body(::onnx::GraphProto& body, ::onnx::FunctionProto& f) {
  for (::onnx::TensorProto& t : *body.mutable_initializer()) {
    ::onnx::NodeProto& c = *f.add_node();
    c.set_op_type("Constant");
    c.set_name(t.name() + "/Constant");
    c.add_output(t.name());
    ::onnx::AttributeProto& a = *c.add_attribute();
    a.set_name("value");
    a.set_type(::onnx::AttributeProto::TENSOR);
    *a.mutable_t() = std::move(t);
  }
  for (::onnx::NodeProto& n : *body.mutable_node()) *f.add_node() = std::move(n);
}

// The name f goes by in the model: that of an equal function already there, else f's own,
// with a suffix where another function took it (one F decomposed on other dtypes or ranks).
inline std::string add_function(model_parts& parts, ::onnx::FunctionProto f) {
  const std::string base = f.name();
  for (int k = 1;; ++k) {
    f.set_name(k == 1 ? base : base + "_" + std::to_string(k));
    const auto same_name = std::find_if(parts.functions.begin(),
                                        parts.functions.end(),
                                        [&](const auto& g) { return g.name() == f.name(); });
    if (same_name == parts.functions.end()) {
      parts.functions.push_back(std::move(f));
      return parts.functions.back().name();
    }
    if (same_name->SerializeAsString() == f.SerializeAsString()) return f.name();
  }
}

// Named so that a failed check prints F in the compiler's note.
template <class F, class Decomposed, class Result>
inline constexpr bool decomposition_gives_result =
    std::is_same_v<typename Decomposed::value_type, typename Result::value_type>&&
        std::is_same_v<typename Decomposed::extents_type, typename Result::extents_type>;

template <class G, std::size_t I>
std::string export_function(export_state& s) {
  using N = node_t<G, I>;
  using F = typename N::op_type::callable_type;
  const auto result = []<class... X>(std::tuple<X...>*) {
    return F::decomposition(X{}...);
  }(static_cast<decomposition_operands_t<G, I>*>(nullptr));
  const auto body = flatten<copies::shared>(result);
  using B = std::remove_const_t<decltype(body)>;
  using Out = node_t<B, B::outputs[0]>;
  static_assert(decomposition_gives_result<F, Out, N>,
                "loom: onnx export: the decomposition of an allow_in_graph<F> (F is named "
                "below) gives another dtype or extents than F does");
  ::onnx::GraphProto graph;
  writer w(graph);
  export_state inner{w, s.parts, s.opset, false, false, {}, {}};
  for (std::size_t a = 0; a != N::arity; ++a) inner.inputs.push_back("x" + std::to_string(a));
  export_nodes(inner, body);
  ::onnx::FunctionProto f;
  f.set_name(function_name(type_name<F>()));
  f.set_domain(std::string(function_domain));
  for (const std::string& in : inner.inputs) f.add_input(in);
  f.add_output(writer::output_of(w.node("Identity", {inner.values[B::outputs[0]]}, "result")));
  writer::drop_unused(graph, {f.output(0)});
  move_body(graph, f);
  std::set<std::string> domains;
  for (const ::onnx::NodeProto& n : f.node())
    if (!n.domain().empty()) domains.insert(n.domain());
  writer::import_opsets(f, s.opset, domains);
  std::vector<std::string> operands;
  for (std::size_t a : N::args) operands.push_back(s.values[a]);
  ::onnx::NodeProto& call =
      s.w.node(add_function(s.parts, std::move(f)), operands, "%" + std::to_string(I));
  call.set_domain(std::string(function_domain));
  s.parts.domains.insert(std::string(function_domain));
  return writer::output_of(call);
}

}  // namespace loom::onnx_export
