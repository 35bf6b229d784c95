#pragma once

#include <stdexcept>
#include <string>

namespace loom {

// Every run-time error loom raises derives from loom::error, so callers can catch the
// library's failures apart from their own.
struct error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Extents that are only known at run time disagree with what the model needs.
struct shape_error : error {
  using error::error;
};

// An index read from a tensor (loom::take_along_axis) lies outside the axis it indexes: the
// message names the index and the axis's extent.
struct index_error : error {
  using error::error;
};

// The traced program cannot be compiled faithfully (for example an impure node whose
// result would be recomputed).
struct trace_error : error {
  using error::error;
};

// An output buffer overlaps an input the model reads after writing the output, or another
// output: the message names both and their shapes.
struct alias_error : error {
  using error::error;
};

// A tensor handed over through DLPack cannot be viewed as asked: its dtype, device, strides,
// lanes or version, or a read-only tensor imported as mutable (loom/dlpack.hpp). Its shape
// not fitting the view's extents is a shape_error.
struct dlpack_error : error {
  using error::error;
};

// A model cannot be written in the chosen interchange format, or what was written fails the
// format's own checks (loom/onnx.hpp): the message names the node.
struct export_error : error {
  using error::error;
};

// A CUDA runtime or cuBLAS call failed, or there is no device to run on: the message names
// the call and gives CUDA's own description.
struct cuda_error : error {
  using error::error;
};

}  // namespace loom
