// expect: error: static assertion failed: loom: hook: the callback must take a loom::tensor_view<const T, E> of the value.*hook_callable<main\(\)::<lambda\(int\)>, loom::tensor_view<const float
// A hook callback that takes the wrong type is refused.
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<loom::dyn>> x;
  auto y = loom::hook(x, [](int) {});
  (void)y;
}
