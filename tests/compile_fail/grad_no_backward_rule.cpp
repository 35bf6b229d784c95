// expect: error: static assertion failed: loom: grad: this op has no backward rule.*has_backward_rule<cube>
// An op descriptor of the user's own has no backward rule: on a differentiated path, its
// gradient names it.
#include <loom/loom.hpp>
struct cube : loom::ops::arithmetic_unary {
  static constexpr std::string_view name = "cube";
  static constexpr int cost = 2;
  template <class T>
  static constexpr T scalar(T x) {
    return x * x * x;
  }
};
int main() {
  auto g = loom::compile(
      loom::grad([](const auto& x) { return loom::sum(loom::detail::dispatch(cube{}, x)); }),
      loom::input<float, loom::extents<8>>{});
  (void)g;
}
