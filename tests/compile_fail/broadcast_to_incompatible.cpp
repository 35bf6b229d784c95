// expect: error: static assertion failed: loom: broadcast_to: the operand's extents do not broadcast to the target's.*broadcasts_to<loom::extents<3, 2>, loom::extents<3, 4> >
// An extent of 2 repeats only if it is 1.
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<3, 2>> x;
  auto b = loom::broadcast_to<loom::extents<3, 4>>(x);
  (void)b;
}
