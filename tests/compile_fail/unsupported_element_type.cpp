// expect: error: static assertion failed: loom: tensors hold float, double, loom::bf16, loom::f16, int32_t or bool
#include <loom/loom.hpp>
int main() {
  char c[4];
  loom::tensor_view<char, loom::extents<4>> v(c, 4);
  (void)v;
}
