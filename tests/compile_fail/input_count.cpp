// expect: error: static assertion failed: loom: a compiled model takes exactly the inputs it was compiled for
#include <loom/loom.hpp>
int main() {
  auto m = loom::compile([](auto x) { return x + 1.f; },
                         loom::input<float, loom::extents<loom::dyn>>{});
  loom::tensor<float, loom::extents<loom::dyn>> x(4);
  m(x, x);
}
