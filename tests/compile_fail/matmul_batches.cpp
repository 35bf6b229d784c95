// expect: error: static assertion failed: loom: matmul: the batch extents do not broadcast.*matmul_batches_agree<loom::extents<2, 3, 4>, loom::extents<3, 4, 5> >
// Batches of 2 and 3 matrices do not pair up.
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<2, 3, 4>> a;
  loom::placeholder<1, float, loom::extents<3, 4, 5>> b;
  auto c = loom::matmul(a, b);
  (void)c;
}
