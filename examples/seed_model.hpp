#pragma once

// The seed program: ReLU, then a callable loom must not trace into, kept as one opaque node.
// Shared by seed_allow_in_graph.cpp (run fused and eagerly) and onnx/seed_onnx.cpp (exported).
#include <loom/loom.hpp>

namespace example {

struct custom_hook_function {  // opaque: loom never traces into operator()
  float operator()(float x) const {
    float r = x * 2;
    r += 10;
    return r;
  }
  // The same function in loom ops, for export only: ONNX gets it as a function.
  static auto decomposition(auto x) { return x * 2.f + 10.f; }
};

inline constexpr auto my_model = [](auto x) {
  auto y = loom::relu(x);                                  // traced
  return loom::allow_in_graph<custom_hook_function>{}(y);  // one opaque node
};

}  // namespace example
