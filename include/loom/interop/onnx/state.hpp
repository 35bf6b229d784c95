#pragma once

#include <onnx/onnx_pb.h>

#include <set>
#include <string>
#include <vector>

#include "loom/interop/onnx/writer.hpp"

namespace loom::onnx_export {

// What one export collects across the model's graph and the functions it writes: what it
// left out, the custom domains to import, the functions (tier 1 opaque nodes).
struct model_parts {
  std::vector<std::string> dropped;  // hooks and barriers, which export as nothing
  std::set<std::string> domains;     // the custom ops' domains, each imported once
  std::vector<::onnx::FunctionProto> functions;
};

// What exporting one graph (the model's, or a function's body) has made so far: every
// node's value by name.
struct export_state {
  writer& w;
  model_parts& parts;
  int opset = 17;
  bool hooks_as_identity = false;
  bool scalars_as_inputs = false;
  std::vector<std::string> inputs;  // the graph inputs' names, by model input
  std::vector<std::string> values;  // values[i]: the ONNX name of node i's value
};

}  // namespace loom::onnx_export
