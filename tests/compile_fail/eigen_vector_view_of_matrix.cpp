// expect: error: static assertion failed: loom: from_eigen<1> needs an Eigen vector
#include <loom/loom.hpp>
int main() {
  Eigen::Matrix<float, 2, 3, Eigen::RowMajor> m;
  auto v = loom::from_eigen<1>(m);
  (void)v;
}
