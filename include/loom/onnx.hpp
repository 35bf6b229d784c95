#pragma once

// ONNX export: loom::onnx::to_model_proto and loom::onnx::save write a compiled model as an
// ONNX model (opset 17), checked by ONNX's checker and shape inference. Needs ONNX's C++
// library and protobuf (Debian: libonnx-dev, libprotobuf-dev; CMake: link loom::onnx); the
// rest of loom never does.

#include "loom/interop/onnx/export.hpp"
