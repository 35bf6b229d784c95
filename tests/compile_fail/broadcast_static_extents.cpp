// expect: error: static assertion failed: loom: the operands' static extents do not broadcast.*shapes_broadcast<loom::ops::add, loom::extents<3, 4>, loom::extents<5> >
// Static extents [3, 4] and [5] cannot broadcast: the error names the op and both shapes.
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<3, 4>> a;
  loom::placeholder<1, float, loom::extents<5>> b;
  auto c = a + b;
  (void)c;
}
