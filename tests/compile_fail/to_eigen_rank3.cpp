// expect: error: static assertion failed: loom: to_eigen maps rank-1 and rank-2 tensors
#include <loom/loom.hpp>
int main() {
  loom::tensor<float, loom::extents<2, 2, 2>> t;
  auto m = loom::to_eigen(t);
  (void)m;
}
