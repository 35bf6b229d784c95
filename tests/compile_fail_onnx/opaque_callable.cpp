// expect: loom: onnx export: the graph holds an allow_in_graph<F>.*clipped_exp
// An opaque callable declares no ONNX form: writing its model is refused at compile time, and
// the instantiation names F.
#include <cmath>
#include <loom/loom.hpp>
#include <loom/onnx.hpp>

struct clipped_exp {
  float operator()(float x) const { return std::exp(std::fmin(x, 10.f)); }
};

int main() {
  auto model = [](auto x) {
    return loom::allow_in_graph<clipped_exp>{}(x) + 1.f;
  };
  auto m = loom::compile(model, loom::input<float, loom::extents<loom::dyn>>{});
  loom::onnx::save(m, "model.onnx");
}
