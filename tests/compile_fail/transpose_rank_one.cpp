// expect: error: static assertion failed: loom: transpose needs rank 2 or more
// A vector has no two axes to swap.
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<loom::dyn>> x;
  auto t = loom::transpose(x);
  (void)t;
}
