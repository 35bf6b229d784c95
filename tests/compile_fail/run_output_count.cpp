// expect: error: static assertion failed: loom: run\(\) needs one output per result of the model
// A two-result model run into a single buffer.
#include <loom/loom.hpp>
int main() {
  auto m = loom::compile([](auto x) { return std::make_tuple(x + 1.f, x * 2.f); },
                         loom::input<float, loom::extents<loom::dyn>>{});
  loom::tensor<float, loom::extents<loom::dyn>> x(4), y(4);
  m.run(std::tie(y), x);
}
