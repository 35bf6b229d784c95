// expect: loom: onnx export: the decomposition of an allow_in_graph<F>.*clip_above
// A decomposition must compute what F does: here it gives bool (a comparison) where F gives
// float, and writing the model is refused at compile time, naming F.
#include <cmath>
#include <loom/loom.hpp>
#include <loom/onnx.hpp>

struct clip_above {
  float operator()(float x) const { return std::fmin(x, 1.f); }
  static auto decomposition(auto x) { return x < 1.f; }
};

int main() {
  auto model = [](auto x) {
    return loom::allow_in_graph<clip_above>{}(x) + 1.f;
  };
  auto m = loom::compile(model, loom::input<float, loom::extents<loom::dyn>>{});
  loom::onnx::save(m, "model.onnx");
}
