#pragma once

#include <array>
#include <cstddef>
#include <string_view>

// How an element-wise op is written in ONNX: plain data each op descriptor holds as `onnx`
// (valid at every opset loom writes: 17, 18 and 20) and, where a later opset has the op itself,
// as `onnx_native`. The ONNX exporter (interop/onnx/nodes.hpp) reads them. No protobuf here.
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

// The one ONNX op that computes a loom op from opset `since` on, where `onnx` spells it out
// before (gelu: Gelu from opset 20).
struct onnx_native_op {
  int since;
  std::string_view op;
};

// An integer attribute of a custom op's ONNX node: an allow_in_graph<F> that declares
// `onnx_op` may also declare `static constexpr std::array<loom::onnx_int_attribute, N>
// onnx_attributes` (GatherElements' axis).
struct onnx_int_attribute {
  std::string_view name;
  long long value;
};

}  // namespace loom
