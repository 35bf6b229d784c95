// The ONNX part of docs/guide.md ("Export and exchange"): its snippet, between
// `// [snippet:NAME]` markers, appears verbatim in the guide (docs_snippets_in_sync); the
// CHECKs hold what the guide says of it.
#include <catch2/catch.hpp>
#include <filesystem>
#include <loom/loom.hpp>
#include <loom/onnx.hpp>

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
  // nodes MatMul, Add, Relu, Identity; output output0
  // [/snippet:onnx]
  CHECK(std::filesystem::file_size(dir / "layer.onnx") > 0);
  const auto& g = proto.graph();
  REQUIRE(g.input_size() == 3);
  CHECK(g.input(0).name() == "input0");
  CHECK(g.input(0).type().tensor_type().shape().dim(0).dim_param() == "input0_dim0");
  CHECK(g.input(0).type().tensor_type().shape().dim(1).dim_value() == 64);
  REQUIRE(g.node_size() == 4);
  CHECK(g.node(0).op_type() == "MatMul");
  CHECK(g.node(1).op_type() == "Add");
  CHECK(g.node(2).op_type() == "Relu");
  CHECK(g.node(3).op_type() == "Identity");
  CHECK(g.output(0).name() == "output0");
  std::filesystem::remove(dir / "layer.onnx");
}
