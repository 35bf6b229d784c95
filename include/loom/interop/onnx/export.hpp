#pragma once

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <cstddef>
#include <exception>
#include <fstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "loom/core/errors.hpp"
#include "loom/graph/flatten.hpp"
#include "loom/graph/input.hpp"
#include "loom/graph/plan.hpp"
#include "loom/graph/type_name.hpp"
#include "loom/interop/onnx/function.hpp"
#include "loom/interop/onnx/nodes.hpp"
#include "loom/version.hpp"

namespace loom::onnx {

// How a model is written. Names default to input0, input1, ... and output0, ...
struct options {
  // The ONNX opset: 17, 18 or 20 (see ir_version_of for the IR version each one needs).
  int opset = 17;
  std::vector<std::string> input_names;
  std::vector<std::string> output_names;
  // Run-time scalars: constants with the value the model holds (default), or graph inputs
  // named scalarN (N the node), so that one file serves every value.
  bool scalars_as_inputs = false;
  // Hooks export as nothing (their value passes through), or as Identity nodes.
  bool hooks_as_identity = false;
};

}  // namespace loom::onnx

namespace loom::onnx_export {

inline std::string name_or(const std::vector<std::string>& names,
                           std::size_t k,
                           std::string prefix) {
  return k < names.size() ? names[k] : prefix + std::to_string(k);
}

// The symbol (`dim_param`) of each axis of input K with extents E: the name loom::dims gives the
// axis, else inputK_dimD; empty for a static extent.
template <class E, class Dims>
std::vector<std::string> input_dim_params(std::size_t k) {
  std::vector<std::string> params(E::rank);
  [&]<std::size_t... D>(std::index_sequence<D...>) {
    (
        [&] {
          using name = detail::dim_name_t<Dims, D>;
          if constexpr (E::dims[D] == dyn && !std::is_same_v<name, unnamed>)
            params[D] = std::string(type_name<name>());
          else if constexpr (E::dims[D] == dyn)
            params[D] = "input" + std::to_string(k) + "_dim" + std::to_string(D);
        }(),
        ...);
  }
  (std::make_index_sequence<E::rank>{});
  return params;
}

// The symbols of node I's dynamic extents where the plan knows them to be an input's
// (fusion_plan::symbolic: equal names, equal extents for every input).
template <class G, std::size_t I>
std::vector<std::string> output_dim_params(const std::vector<std::vector<std::string>>& inputs) {
  using plan = fusion_plan<G>;
  std::vector<std::string> params(node_t<G, I>::extents_type::rank);
  [&]<std::size_t... J>(std::index_sequence<J...>) {
    (
        [&] {
          if constexpr (kind_of<node_t<G, J>>() == node_kind::input) {
            const std::size_t k = node_t<G, J>::op_type::index;
            for (std::size_t d = 0; d < params.size(); ++d)
              for (std::size_t a = 0; a < inputs[k].size(); ++a)
                if (params[d].empty() && !inputs[k][a].empty() &&
                    plan::symbolic[I][d] == plan::symbolic[J][a])
                  params[d] = inputs[k][a];
          }
        }(),
        ...);
  }
  (std::make_index_sequence<G::node_count>{});
  return params;
}

// The IR version each opset loom writes first appeared with (ONNX's versioning table): 8 for
// opsets 17 and 18, 9 for 20; 0 for an opset loom does not write.
constexpr int ir_version_of(int opset) {
  return opset == 17 || opset == 18 ? 8 : opset == 20 ? 9 : 0;
}

template <class Model>
::onnx::ModelProto model_proto(const Model& m, const onnx::options& o) {
  using G = typename Model::graph_type;
  if (ir_version_of(o.opset) == 0)
    throw export_error("loom: onnx export: opset " + std::to_string(o.opset) +
                       " is not supported; loom writes opsets 17, 18 and 20");
  ::onnx::ModelProto model;
  model.set_ir_version(ir_version_of(o.opset));
  model.set_producer_name("loom");
  model.set_producer_version(std::string(loom::version));
  ::onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name("loom");
  writer w(graph);
  model_parts parts;
  export_state s{w, parts, o.opset, o.hooks_as_identity, o.scalars_as_inputs, {}, {}};
  std::vector<std::vector<std::string>> input_params;
  [&]<class... In>(std::tuple<In...>*) {
    std::size_t k = 0;
    ((s.inputs.push_back(name_or(o.input_names, k, "input")),
      input_params.push_back(
          input_dim_params<typename In::extents_type, typename In::dims_type>(k)),
      graph.add_input()->set_name(s.inputs.back()),
      writer::write_type<typename In::value_type, typename In::extents_type>(
          *graph.mutable_input(int(k)), input_params.back()),
      ++k),
     ...);
  }(static_cast<typename Model::input_types*>(nullptr));
  export_nodes(s, m.graph());
  // Outputs by the names asked for, through Identity: a value may be an input, a constant or
  // another output too.
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    (
        [&] {
          constexpr std::size_t o_node = G::outputs[K];
          using N = node_t<G, o_node>;
          ::onnx::NodeProto& n = w.node("Identity", {s.values[o_node]}, "output");
          n.set_output(0, name_or(o.output_names, K, "output"));
          ::onnx::ValueInfoProto& v = *graph.add_output();
          v.set_name(n.output(0));
          writer::write_type<typename N::value_type, typename N::extents_type>(
              v, output_dim_params<G, o_node>(input_params));
        }(),
        ...);
  }
  (std::make_index_sequence<G::output_count>{});
  std::vector<std::string> results;
  for (const ::onnx::ValueInfoProto& out : graph.output()) results.push_back(out.name());
  writer::drop_unused(graph, results);
  for (::onnx::FunctionProto& f : parts.functions) *model.add_functions() = std::move(f);
  writer::import_opsets(model, o.opset, parts.domains);
  std::string doc = "written by loom " + std::string(loom::version);
  if (!parts.dropped.empty()) {
    doc += "; exported as nothing:";
    for (const std::string& d : parts.dropped) doc += " " + d;
  }
  model.set_doc_string(doc);
  return model;
}

// Whether the ONNX library loom is built with knows the model's opset and IR version, and so
// can check it (Debian's ONNX 1.12 knows opset 17 and IR 8, not 18 or 20).
inline bool checkable(const ::onnx::ModelProto& model) {
  const int known = ::onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map().at("").second;
  return model.opset_import(0).version() <= known && model.ir_version() <= ::onnx::IR_VERSION;
}

// ONNX's own checker and shape inference, strict: what fails them is loom's error.
inline void validate(::onnx::ModelProto& model) {
  try {
    ::onnx::checker::check_model(model);
    ::onnx::ShapeInferenceOptions strict{true, 1, false};
    ::onnx::shape_inference::InferShapes(model, ::onnx::OpSchemaRegistry::Instance(), strict);
  } catch (const std::exception& e) {
    throw export_error(std::string("loom: onnx export: the model fails ONNX's checks: ") +
                       e.what());
  }
}

}  // namespace loom::onnx_export

namespace loom::onnx {

// The compiled model as an ONNX ModelProto, checked by ONNX's checker and shape inference
// (loom::export_error where they fail). Where the ONNX library loom is built with does not know
// the opset, it cannot check the model, and the model's doc string says so.
template <class Model>
::onnx::ModelProto to_model_proto(const Model& compiled, const options& o = {}) {
  ::onnx::ModelProto model = onnx_export::model_proto(compiled, o);
  if (onnx_export::checkable(model))
    onnx_export::validate(model);
  else
    model.set_doc_string(model.doc_string() + "; not checked: the ONNX library loom was built " +
                         "with does not know opset " + std::to_string(o.opset));
  return model;
}

// to_model_proto, written to `path`.
template <class Model>
void save(const Model& compiled, const std::string& path, const options& o = {}) {
  const ::onnx::ModelProto model = to_model_proto(compiled, o);
  std::ofstream out(path, std::ios::binary);
  if (!out || !model.SerializeToOstream(&out) || !out.flush())
    throw export_error("loom: onnx export: cannot write " + path);
}

}  // namespace loom::onnx
