// expect: error: static assertion failed: loom: slice: the step must be positive
// A step of 0 would never advance (and negative steps are not supported).
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<5, 7>> x;
  auto s = loom::slice<1, 0, loom::ops::slice_end, 0>(x);
  (void)s;
}
