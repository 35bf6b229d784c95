// expect: error: static assertion failed: loom: an op takes at most 4 operands
#include <loom/loom.hpp>
struct five {
  float operator()(float a, float b, float c, float d, float e) const { return a + b + c + d + e; }
};
int main() {
  loom::placeholder<0, float, loom::extents<loom::dyn>> x;
  auto y = loom::allow_in_graph<five>{}(x, x, x, x, x);
  (void)y;
}
