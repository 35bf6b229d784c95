// expect: loom: onnx export: an op descriptor declares no ONNX spelling.*halve
// An op descriptor of the user's own (name, cost, signature, scalar) with no ONNX spelling:
// the model runs, but writing it is refused at compile time, naming the op.
#include <loom/loom.hpp>
#include <loom/onnx.hpp>

struct halve : loom::ops::floating_unary {
  static constexpr std::string_view name = "halve";
  static constexpr int cost = 1;
  template <class T>
  static T scalar(T x) {
    return x / 2;
  }
};

int main() {
  auto m = loom::compile([](auto x) { return loom::detail::dispatch(halve{}, x); },
                         loom::input<float, loom::extents<loom::dyn>>{});
  loom::onnx::save(m, "model.onnx");
}
