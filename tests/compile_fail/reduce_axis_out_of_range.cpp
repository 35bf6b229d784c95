// expect: error: static assertion failed: loom: a reduction axis is out of range for the operand's rank.*reduction_axes_in_range<3, 3>
// Axis 3 of a rank-3 operand: the note names the rank and the axes.
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<2, 3, 4>> x;
  auto s = loom::sum(x, loom::axes<3>);
  (void)s;
}
