// expect: error: static assertion failed: loom: matmul: both operands must have one floating-point dtype \(cast first\).*matmul_dtypes_supported<float, double>
// Mixed dtypes are refused: the GEMM runs in one type.
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<3, 4>> a;
  loom::placeholder<1, double, loom::extents<4, 2>> b;
  auto c = loom::matmul(a, b);
  (void)c;
}
