// expect: error: static assertion failed: loom: a compiled model writes into tensors or views in its backend's
// run() writes into loom tensors or views, not a std::vector: wrap it in a tensor_view.
#include <loom/loom.hpp>
#include <vector>
int main() {
  auto m = loom::compile([](auto x) { return x + 1.f; },
                         loom::input<float, loom::extents<loom::dyn>>{});
  loom::tensor<float, loom::extents<loom::dyn>> x(4);
  std::vector<float> y(4);
  m.run(y, x);
}
