// Must build against the installed package's onnx component (find_package(loom COMPONENTS
// onnx), loom::onnx) and export a model that ONNX's checker accepts.
#include <loom/loom.hpp>
#include <loom/onnx.hpp>

int main() {
  auto model = [](auto x) { return loom::relu(x) * 2.f; };
  auto compiled = loom::compile(model, loom::input<float, loom::extents<loom::dyn>>{});
  const onnx::ModelProto proto = loom::onnx::to_model_proto(compiled);
  return proto.graph().node_size() == 3 ? 0 : 1;  // Relu, Mul, the output's Identity
}
