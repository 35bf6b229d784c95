// expect: error: static assertion failed: loom: a concrete tensor met a traced value
// A captured tensor cannot enter a traced graph; it must be a model input.
#include <loom/loom.hpp>
int main() {
  loom::tensor<float, loom::extents<loom::dyn>> w(4);
  auto m = loom::compile([&](auto x) { return x * w; },
                         loom::input<float, loom::extents<loom::dyn>>{});
  (void)m;
}
