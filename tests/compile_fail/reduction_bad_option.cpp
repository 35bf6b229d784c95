// expect: error: static assertion failed: loom: a reduction takes loom::axes<...> and/or loom::keepdims
// Anything else after the operand is refused with a message that says what is allowed.
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<loom::dyn, 4>> x;
  auto s = loom::sum(x, 1);
  (void)s;
}
