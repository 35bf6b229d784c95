// expect: error: static assertion failed: loom: tensors hold float, double, loom::bf16, loom::f16, int32_t or bool
#include <loom/loom.hpp>
int main() {
  loom::tensor<long, loom::extents<3>> t;
  (void)t;
}
