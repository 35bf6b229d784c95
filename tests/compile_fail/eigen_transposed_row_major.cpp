// expect: error: static assertion failed: loom: from_eigen_transposed is for column-major matrices
#include <loom/loom.hpp>
int main() {
  Eigen::Matrix<float, 2, 3, Eigen::RowMajor> m;
  auto v = loom::from_eigen_transposed(m);
  (void)v;
}
