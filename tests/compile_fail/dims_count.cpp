// expect: error: static assertion failed: loom: loom::dims names every axis of the input \(loom::unnamed for the others\)
#include <loom/loom.hpp>
struct rows;
int main() {
  auto m = loom::compile([](auto x) { return x + 1.f; },
                         loom::input<float, loom::extents<loom::dyn, 4>, loom::dims<rows, rows, rows>>{});
  (void)m;
}
