// expect: error: static assertion failed: loom: a reduction names an axis twice.*reduction_axes_distinct<3, 0, -3>
// -3 is axis 0 of a rank-3 operand, so axes<0, -3> names it twice.
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<2, 3, 4>> x;
  auto s = loom::max(x, loom::axes<0, -3>);
  (void)s;
}
