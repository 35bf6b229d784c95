// expect: error: static assertion failed: loom: slice: the axis is out of range for the operand's rank.*slice_axis_in_range<2, 2>
// Axis 2 of a rank-2 operand.
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<5, 7>> x;
  auto s = loom::slice<2, 0>(x);
  (void)s;
}
