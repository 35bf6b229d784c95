// expect: error: static assertion failed: loom: matmul: the first operand's last extent differs from the second's next-to-last.*matmul_inner_extents_agree<loom::extents<3, 4>, loom::extents<5, 2> >
// Static inner extents that differ are a compile error naming both extents.
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<3, 4>> a;
  loom::placeholder<1, float, loom::extents<5, 2>> b;
  auto c = loom::matmul(a, b);
  (void)c;
}
