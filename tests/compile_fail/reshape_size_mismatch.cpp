// expect: error: static assertion failed: loom: reshape: the element counts differ, or more than one extent is dyn.*reshape_keeps_size<loom::extents<2, 3>, loom::extents<4, 2> >
// Six elements do not fit [4, 2]; the note names both extents.
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<2, 3>> x;
  auto r = loom::reshape<loom::extents<4, 2>>(x);
  (void)r;
}
