// expect: error: static assertion failed: loom: argmax reduces one axis, or all of them.*argmax_axes_supported<3, 6>
// Two of three axes have no single index to return; the note shows the axes as a mask.
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<2, 3, 4>> x;
  auto a = loom::argmax(x, loom::axes<1, 2>);
  (void)a;
}
