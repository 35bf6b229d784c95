// expect: error: static assertion failed: loom: grad: gradients are taken with respect to floating-point inputs only.*is_floating_input<loom::input_leaf<1, int,
// Gradients are taken with respect to floating-point inputs only.
#include <loom/loom.hpp>
int main() {
  auto g = loom::compile(
      loom::grad([](const auto& x, const auto& n) { return loom::sum(x * n); }, loom::wrt<1>),
      loom::input<float, loom::extents<4>>{},
      loom::input<std::int32_t, loom::extents<4>>{});
  (void)g;
}
