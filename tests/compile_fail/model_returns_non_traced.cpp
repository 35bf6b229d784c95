// expect: error: static assertion failed: loom: a traced model must return traced values
#include <loom/loom.hpp>
int main() {
  auto m = loom::compile([](auto) { return 1.f; }, loom::input<float, loom::extents<loom::dyn>>{});
  (void)m;
}
