// The attention block of attention.cpp exported to ONNX: writes attention.onnx (checked by
// ONNX's checker and shape inference on the way), the block's inputs and loom's result as
// .npy files, in the current directory. check_onnx.py, next to this file, runs the model
// in onnxruntime on those inputs and prints the largest difference to loom's result.
#include <loom/loom.hpp>
#include <loom/npy.hpp>
#include <loom/onnx.hpp>

#include <cstdio>

#include "../attention_block.hpp"

int main() {
  const auto compiled = example::compile_attention_block();
  loom::onnx::options o;
  o.input_names = {"x", "wq", "wk", "wv", "gamma", "beta"};
  o.output_names = {"y"};
  loom::onnx::save(compiled, "attention.onnx", o);

  const example::attention_inputs in(100);
  loom::save_npy("x.npy", in.x);
  loom::save_npy("wq.npy", in.wq);
  loom::save_npy("wk.npy", in.wk);
  loom::save_npy("wv.npy", in.wv);
  loom::save_npy("gamma.npy", in.gamma);
  loom::save_npy("beta.npy", in.beta);
  loom::save_npy("loom_y.npy", compiled(in.x, in.wq, in.wk, in.wv, in.gamma, in.beta));

  const onnx::ModelProto proto = loom::onnx::to_model_proto(compiled, o);
  std::printf("wrote attention.onnx: %d ONNX nodes for loom's %zu, opset %lld; inputs as .npy\n",
              proto.graph().node_size(),
              decltype(compiled)::node_count,
              static_cast<long long>(proto.opset_import(0).version()));
}
