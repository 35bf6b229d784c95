// The ONNX part of docs/guide.md ("Export and exchange"): its snippet, between
// `// [snippet:NAME]` markers, appears verbatim in the guide (docs_snippets_in_sync); the
// CHECKs hold what the guide says of it.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <loom/loom.hpp>
#include <loom/onnx.hpp>
#include <string_view>

// [snippet:onnx_custom_op]
// Opaque to loom; in ONNX, onnxruntime's own FastGelu (its com.microsoft domain).
struct fast_gelu {
  static constexpr std::string_view onnx_op = "FastGelu";
  static constexpr std::string_view onnx_domain = "com.microsoft";
  float operator()(float x) const {
    return 0.5f * x * (1.f + std::tanh(0.7978845608f * (x + 0.044715f * x * x * x)));
  }
};
// [/snippet:onnx_custom_op]

// [snippet:onnx_function]
// The seed's black box: loom's tracer never looks into operator(), and calls it in the fused
// loop. For export, the same function in loom ops, which ONNX gets as a function.
struct custom_hook_function {
  float operator()(float x) const { return x * 2 + 10; }
  static auto decomposition(auto x) { return x * 2.f + 10.f; }
};
// [/snippet:onnx_function]

TEST_CASE("guide: ONNX export", "[docs][onnx]") {
  const auto dir = std::filesystem::temp_directory_path();
  std::filesystem::current_path(dir);
  // [snippet:onnx]
  auto layer = [](auto x, auto w, auto b) {
    return loom::relu(loom::matmul(x, w) + b);
  };
  auto compiled = loom::compile(layer,
                                loom::input<float, loom::extents<loom::dyn, 64>>{},
                                loom::input<float, loom::extents<64, 32>>{},
                                loom::input<float, loom::extents<32>>{});
  loom::onnx::options names;
  names.input_names = {"x", "w", "b"};
  loom::onnx::save(compiled, "layer.onnx", names);  // checked by ONNX's checker first

  onnx::ModelProto proto = loom::onnx::to_model_proto(compiled);  // the same, in memory
  // proto.graph(): inputs input0 [input0_dim0, 64], input1 [64, 32], input2 [32];
  // nodes Gemm (the matmul and its bias), Relu, Identity; output output0 [input0_dim0, 32]
  // [/snippet:onnx]
  CHECK(std::filesystem::file_size(dir / "layer.onnx") > 0);
  const auto& g = proto.graph();
  REQUIRE(g.input_size() == 3);
  CHECK(g.input(0).name() == "input0");
  CHECK(g.input(0).type().tensor_type().shape().dim(0).dim_param() == "input0_dim0");
  CHECK(g.input(0).type().tensor_type().shape().dim(1).dim_value() == 64);
  REQUIRE(g.node_size() == 3);
  CHECK(g.node(0).op_type() == "Gemm");
  CHECK(g.node(1).op_type() == "Relu");
  CHECK(g.node(2).op_type() == "Identity");
  CHECK(g.output(0).name() == "output0");
  CHECK(g.output(0).type().tensor_type().shape().dim(0).dim_param() == "input0_dim0");
  std::filesystem::remove(dir / "layer.onnx");
}

TEST_CASE("guide: ONNX export of an allow_in_graph callable as a custom op", "[docs][onnx]") {
  // [snippet:onnx_custom_op_use]
  auto model = [](auto x) {
    const auto y = loom::allow_in_graph<fast_gelu>{}(x);  // one opaque node
    return y * 2.f;
  };
  auto compiled = loom::compile(model, loom::input<float, loom::extents<loom::dyn>>{});
  onnx::ModelProto proto = loom::onnx::to_model_proto(compiled);
  // nodes: FastGelu (domain com.microsoft), Mul, Identity; opset_import: "" 17, com.microsoft 1
  // [/snippet:onnx_custom_op_use]
  const auto& g = proto.graph();
  REQUIRE(g.node_size() == 3);
  CHECK(g.node(0).op_type() == "FastGelu");
  CHECK(g.node(0).domain() == "com.microsoft");
  CHECK(g.node(1).op_type() == "Mul");
  REQUIRE(proto.opset_import_size() == 2);
  CHECK(proto.opset_import(1).domain() == "com.microsoft");
  CHECK(proto.opset_import(1).version() == 1);
}

TEST_CASE("guide: ONNX export of an allow_in_graph callable as a function", "[docs][onnx]") {
  // [snippet:onnx_function_use]
  auto model = [](auto x) {
    return loom::allow_in_graph<custom_hook_function>{}(loom::relu(x));
  };
  auto compiled = loom::compile(model, loom::input<float, loom::extents<loom::dyn>>{});
  onnx::ModelProto proto = loom::onnx::to_model_proto(compiled);
  // graph nodes: Relu, custom_hook_function (domain loom.functions), Identity;
  // proto.functions(0): custom_hook_function, nodes Constant, Constant, Mul, Add, Identity
  // [/snippet:onnx_function_use]
  const auto& g = proto.graph();
  REQUIRE(g.node_size() == 3);
  CHECK(g.node(0).op_type() == "Relu");
  CHECK(g.node(1).op_type() == "custom_hook_function");
  CHECK(g.node(1).domain() == "loom.functions");
  REQUIRE(proto.functions_size() == 1);
  const auto& f = proto.functions(0);
  CHECK(f.name() == "custom_hook_function");
  REQUIRE(f.node_size() == 5);
  CHECK(f.node(2).op_type() == "Mul");
  CHECK(f.node(3).op_type() == "Add");
}

TEST_CASE("guide: ONNX opsets", "[docs][onnx]") {
  // [snippet:onnx_opset]
  auto compiled = loom::compile([](auto x) { return loom::gelu(x); },
                                loom::input<float, loom::extents<loom::dyn>>{});
  loom::onnx::options at20;
  at20.opset = 20;
  onnx::ModelProto proto = loom::onnx::to_model_proto(compiled, at20);
  // nodes Gelu, Identity (at opset 17: Mul, Erf, Add, Mul, Mul, Identity); IR version 9
  // [/snippet:onnx_opset]
  const auto& g = proto.graph();
  REQUIRE(g.node_size() == 2);
  CHECK(g.node(0).op_type() == "Gelu");
  CHECK(proto.ir_version() == 9);
  CHECK(loom::onnx::to_model_proto(compiled).graph().node_size() == 6);
}
