// expect: error: static assertion failed: loom: expand_dims: the axes must be distinct and within the result's rank.*expand_dims_axes_valid<2, 2>
// expand_dims names an axis beyond the result's rank.
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<loom::dyn>> x;
  auto y = loom::expand_dims<2>(x);
  (void)y;
}
