#pragma once

#include <array>
#include <cstddef>
#include <string_view>

// How an element-wise op is written in ONNX (opset 17): plain data each op descriptor holds as
// `onnx`, which the ONNX exporter (interop/onnx_export.hpp) reads. No protobuf here.
namespace loom {

// One ONNX node of an op's spelling. The first step takes the op's operands (after the
// casts its signature implies), each later step the previous step's result; a step's second
// input, where it has one, comes after those: the op's first operand again or a constant of
// the op's dtype.
struct onnx_step {
  enum second_input { none, operand, constant };
  std::string_view op;
  second_input second = none;
  double value = 0;
};

// An op's spelling: its steps, in order (`Exp`; `Sqrt` then `Reciprocal` for rsqrt).
template <std::size_t N>
struct onnx_form {
  std::array<onnx_step, N> steps;
};

template <class... Step>
onnx_form(Step...) -> onnx_form<sizeof...(Step)>;

}  // namespace loom
