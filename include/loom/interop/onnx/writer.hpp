#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "loom/core/dtype.hpp"
#include "loom/core/extents.hpp"

// Building an ONNX graph one node at a time: fresh value names, nodes with their attributes,
// and constants as initializers. Knows ONNX, not loom's graph (interop/onnx/nodes.hpp).
namespace loom::onnx_export {

template <dtype T>
constexpr int elem_type() {
  if constexpr (std::is_same_v<T, float>)
    return ::onnx::TensorProto::FLOAT;
  else if constexpr (std::is_same_v<T, double>)
    return ::onnx::TensorProto::DOUBLE;
  else if constexpr (std::is_same_v<T, f16>)
    return ::onnx::TensorProto::FLOAT16;
  else if constexpr (std::is_same_v<T, bf16>)
    return ::onnx::TensorProto::BFLOAT16;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return ::onnx::TensorProto::INT32;
  else
    return ::onnx::TensorProto::BOOL;
}

class writer {
 public:
  explicit writer(::onnx::GraphProto& graph) : graph_(graph) {}

  // A new node `op` on `inputs`; returns the name of its (one) output. `hint` (the loom
  // value it computes, "%3") goes into the node's name, which the checker's messages quote.
  ::onnx::NodeProto& node(std::string_view op,
                          const std::vector<std::string>& inputs,
                          std::string_view hint) {
    ::onnx::NodeProto& n = *graph_.add_node();
    n.set_op_type(std::string(op));
    n.set_name(std::string(hint) + "/" + std::string(op) + "_" +
               std::to_string(graph_.node_size()));
    for (const std::string& in : inputs) n.add_input(in);
    n.add_output(fresh());
    return n;
  }
  static const std::string& output_of(const ::onnx::NodeProto& n) { return n.output(0); }

  static void attribute(::onnx::NodeProto& n, std::string_view name, std::int64_t value) {
    ::onnx::AttributeProto& a = *n.add_attribute();
    a.set_name(std::string(name));
    a.set_type(::onnx::AttributeProto::INT);
    a.set_i(value);
  }
  static void attribute(::onnx::NodeProto& n, std::string_view name, float value) {
    ::onnx::AttributeProto& a = *n.add_attribute();
    a.set_name(std::string(name));
    a.set_type(::onnx::AttributeProto::FLOAT);
    a.set_f(value);
  }
  static void attribute(::onnx::NodeProto& n,
                        std::string_view name,
                        const std::vector<std::int64_t>& values) {
    ::onnx::AttributeProto& a = *n.add_attribute();
    a.set_name(std::string(name));
    a.set_type(::onnx::AttributeProto::INTS);
    for (std::int64_t v : values) a.add_ints(v);
  }

  // A value's type: dtype, static extents as values, dynamic ones by their symbol in
  // `params` (none where that is empty, or where `params` is: shape inference and the runtime
  // fill it in).
  template <dtype T, extents_type E>
  static void write_type(::onnx::ValueInfoProto& v, const std::vector<std::string>& params = {}) {
    ::onnx::TypeProto_Tensor& t = *v.mutable_type()->mutable_tensor_type();
    t.set_elem_type(elem_type<T>());
    ::onnx::TensorShapeProto& shape = *t.mutable_shape();
    for (std::size_t d = 0; d != E::rank; ++d) {
      ::onnx::TensorShapeProto_Dimension& dim = *shape.add_dim();
      if (E::dims[d] != dyn)
        dim.set_dim_value(std::int64_t(E::dims[d]));
      else if (d < params.size() && !params[d].empty())
        dim.set_dim_param(params[d]);
    }
  }

  // `x` as dtype `to` (the ONNX element type), where it is not already.
  std::string cast(const std::string& x, int from, int to, std::string_view hint) {
    if (from == to) return x;
    ::onnx::NodeProto& n = node("Cast", {x}, hint);
    attribute(n, "to", std::int64_t(to));
    return output_of(n);
  }

  // A rank-0 constant of dtype T.
  template <dtype T>
  std::string scalar(T value) {
    ::onnx::TensorProto& t = *graph_.add_initializer();
    t.set_name(fresh());
    t.set_data_type(elem_type<T>());
    if constexpr (std::is_same_v<T, float>)
      t.add_float_data(value);
    else if constexpr (std::is_same_v<T, double>)
      t.add_double_data(value);
    else if constexpr (half_precision<T>)
      t.add_int32_data(value.bits);  // ONNX keeps f16 and bf16 values' bits in int32_data
    else
      t.add_int32_data(value);  // int32 and bool are stored as int32_data
    return t.name();
  }

  // A rank-1 int64 constant: shapes, axes, starts.
  std::string int64s(const std::vector<std::int64_t>& values) {
    ::onnx::TensorProto& t = *graph_.add_initializer();
    t.set_name(fresh());
    t.set_data_type(::onnx::TensorProto::INT64);
    t.add_dims(std::int64_t(values.size()));
    for (std::int64_t v : values) t.add_int64_data(v);
    return t.name();
  }

  ::onnx::GraphProto& graph() { return graph_; }

  // The opsets a model or a function (`p`) imports: ONNX's own domain ("") at `opset` first,
  // then each custom domain at version 1.
  template <class Proto>
  static void import_opsets(Proto& p, int opset, const std::set<std::string>& domains) {
    ::onnx::OperatorSetIdProto& standard = *p.add_opset_import();
    standard.set_domain("");
    standard.set_version(opset);
    for (const std::string& d : domains) {
      ::onnx::OperatorSetIdProto& custom = *p.add_opset_import();
      custom.set_domain(d);
      custom.set_version(1);
    }
  }

  // Drops the nodes none of `results` depends on, and the constants and value types only they
  // had: those a fused op left unused (interop/onnx/fused_ops.hpp).
  static void drop_unused(::onnx::GraphProto& g, const std::vector<std::string>& results) {
    std::set<std::string> live(results.begin(), results.end());
    std::vector<bool> keep(std::size_t(g.node_size()));
    for (int k = g.node_size() - 1; k >= 0; --k) {
      for (const std::string& out : g.node(k).output())
        keep[std::size_t(k)] = keep[std::size_t(k)] || live.count(out);
      if (keep[std::size_t(k)])
        for (const std::string& in : g.node(k).input()) live.insert(in);
    }
    int k = 0;
    erase_if(*g.mutable_node(), [&](const auto&) { return !keep[std::size_t(k++)]; });
    erase_if(*g.mutable_initializer(), [&](const auto& t) { return !live.count(t.name()); });
    erase_if(*g.mutable_value_info(), [&](const auto& v) { return !live.count(v.name()); });
  }

 private:
  std::string fresh() { return "v" + std::to_string(next_++); }

  template <class Field, class Drop>
  static void erase_if(Field& field, Drop drop) {
    Field kept;
    for (auto& item : field)
      if (!drop(item)) kept.Add(std::move(item));
    field.Swap(&kept);
  }

  ::onnx::GraphProto& graph_;
  int next_ = 0;
};

}  // namespace loom::onnx_export
