// expect: error: static assertion failed: loom: permute: the axes must be a permutation of 0 \.\. rank-1.*is_permutation_of_axes<3, 0, 0, 1>
// Axis 0 twice and axis 2 never.
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<2, 3, 4>> x;
  auto p = loom::permute<0, 0, 1>(x);
  (void)p;
}
