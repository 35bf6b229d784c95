// The seed model of seed_allow_in_graph.cpp exported to ONNX, its black box as an ONNX
// function (from the callable's `decomposition`): writes seed.onnx, its input and loom's
// result as .npy files, in the current directory. check_onnx.py runs it in onnxruntime.
#include <loom/loom.hpp>
#include <loom/npy.hpp>
#include <loom/onnx.hpp>

#include <cstdio>
#include <random>

#include "../seed_model.hpp"

int main() {
  const auto compiled =
      loom::compile(example::my_model, loom::input<float, loom::extents<loom::dyn>>{});
  loom::onnx::options o;
  o.input_names = {"x"};
  o.output_names = {"y"};
  loom::onnx::save(compiled, "seed.onnx", o);

  loom::tensor<float, loom::extents<loom::dyn>> x(1000);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  for (float& v : x) v = normal(rng);
  loom::save_npy("x.npy", x);
  loom::save_npy("loom_y.npy", compiled(x));

  const onnx::ModelProto proto = loom::onnx::to_model_proto(compiled, o);
  std::printf("wrote seed.onnx: graph %s, %s; function %s: %d nodes\n",
              proto.graph().node(0).op_type().c_str(),
              proto.graph().node(1).op_type().c_str(),
              proto.functions(0).name().c_str(),
              proto.functions(0).node_size());
}
