// expect: error: static assertion failed: loom: give every extent, or only the dynamic ones
#include <loom/loom.hpp>
int main() {
  loom::tensor<float, loom::extents<loom::dyn, 4, loom::dyn>> t(1);
  (void)t;
}
