// expect: error: static assertion failed: loom: a column-major Eigen matrix is not a row-major tensor
// Viewing column-major data as row-major would transpose it silently.
#include <loom/loom.hpp>
int main() {
  Eigen::MatrixXf m(2, 3);
  auto v = loom::from_eigen(m);
  (void)v;
}
