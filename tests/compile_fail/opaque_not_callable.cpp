// expect: error: static assertion failed: loom: allow_in_graph<F>: a const F must take one element of each input.*callable_on_elements<F, Elements ...> \[with F = needs_two_arguments
// An element-wise opaque callable whose signature does not fit its inputs names F.
#include <loom/loom.hpp>
struct needs_two_arguments {
  float operator()(float a, float b) const { return a + b; }
};
int main() {
  loom::placeholder<0, float, loom::extents<loom::dyn>> x;
  auto y = loom::allow_in_graph<needs_two_arguments>{}(x);
  (void)y;
}
