// expect: error: static assertion failed: loom: an output buffer's element type differs
#include <loom/loom.hpp>
int main() {
  auto m = loom::compile([](auto x) { return x + 1.f; },
                         loom::input<float, loom::extents<loom::dyn>>{});
  loom::tensor<float, loom::extents<loom::dyn>> x(4);
  loom::tensor<double, loom::extents<loom::dyn>> y(4);
  m.run(y, x);
}
