// expect: error: static assertion failed: loom: matmul: operands must have rank 2 \(a matrix\) or 3 \(a batch of them\).*matmul_ranks_supported<loom::extents<18446744073709551615>, loom::extents<4, 2> >
// matmul of a vector is refused: reshape it to a 1xN or Nx1 matrix.
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<loom::dyn>> a;
  loom::placeholder<1, float, loom::extents<4, 2>> b;
  auto c = loom::matmul(a, b);
  (void)c;
}
