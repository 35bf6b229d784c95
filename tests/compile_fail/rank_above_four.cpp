// expect: error: static assertion failed: loom: tensors have rank 4 at most
#include <loom/loom.hpp>
int main() {
  loom::tensor<float, loom::extents<1, 1, 1, 1, 1>> t;
  (void)t;
}
