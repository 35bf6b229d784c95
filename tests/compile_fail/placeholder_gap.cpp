// expect: error: static assertion failed: loom: a scripted graph's placeholders must be numbered 0, 1, ... without gaps
// Placeholder 1 is missing, so the inputs of the scripted graph are ambiguous.
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<loom::dyn>> a;
  loom::placeholder<2, float, loom::extents<loom::dyn>> c;
  auto m = loom::compile(a + c);
  (void)m;
}
