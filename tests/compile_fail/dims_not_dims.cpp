// expect: error: static assertion failed: loom: an input's names are given as loom::dims
#include <loom/loom.hpp>
struct rows;
int main() {
  auto m = loom::compile([](auto x) { return x + 1.f; },
                         loom::input<float, loom::extents<loom::dyn>, rows>{});
  (void)m;
}
