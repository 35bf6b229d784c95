// expect: error: static assertion failed: loom: a compiled model takes tensors or views in its backend's memory
// A compiled model takes loom tensors, not a std::vector: wrap it in a tensor_view.
#include <loom/loom.hpp>
#include <vector>
int main() {
  auto m = loom::compile([](auto x) { return x + 1.f; },
                         loom::input<float, loom::extents<loom::dyn>>{});
  std::vector<float> x(4, 1.f);
  m(x);
}
