// expect: error: static assertion failed: loom: vjp: the model must return one floating-point value
// A model whose output is not floating-point has no vector-Jacobian product.
#include <loom/loom.hpp>
int main() {
  auto g = loom::compile(loom::vjp([](const auto& x) { return x > 0.f; }),
                         loom::input<float, loom::extents<4>>{},
                         loom::input<float, loom::extents<4>>{});
  (void)g;
}
