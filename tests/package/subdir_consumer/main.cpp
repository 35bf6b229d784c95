// Must build with loom added via add_subdirectory and exit 0.
#include <Eigen/Core>  // reaches us only through loom::loom's usage requirements
#include <loom/version.hpp>

int main() {
  const Eigen::Vector2i v(1, 2);
  return (LOOM_VERSION_MAJOR == 0 && !loom::version.empty() && v.sum() == 3) ? 0 : 1;
}
