// expect: error: static assertion failed: loom: an input's element type differs.*input_dtype_matches<0, float, double>
// A model compiled for f32 called with an f64 tensor.
#include <loom/loom.hpp>
int main() {
  auto m = loom::compile([](auto x) { return x * 2.f; },
                         loom::input<float, loom::extents<loom::dyn>>{});
  loom::tensor<double, loom::extents<loom::dyn>> x(4);
  m(x);
}
