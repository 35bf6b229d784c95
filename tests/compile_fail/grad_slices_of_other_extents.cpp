// expect: error: static assertion failed: loom: grad: an operand's dyn extent may be broadcast at run time.*broadcast_known_at_compile_time<loom::ops::sub
// x[1:] and x[2:] of a dyn axis have extents loom cannot prove equal (they never are): the
// gradient of their difference names the op.
#include <loom/loom.hpp>
int main() {
  auto g = loom::compile(loom::grad([](const auto& x) {
                           return loom::sum(loom::slice<0, 1>(x) - loom::slice<0, 2>(x));
                         }),
                         loom::input<float, loom::extents<loom::dyn>>{});
  (void)g;
}
