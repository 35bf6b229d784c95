// expect: error: static assertion failed: loom: grad: this op has no backward rule.*has_backward_rule<loom::ops::slice<0, 1,
// An op without a backward rule (slice) on a differentiated path names the op.
#include <loom/loom.hpp>
int main() {
  auto g = loom::compile(loom::grad([](const auto& x) { return loom::sum(loom::slice<0, 1>(x)); }),
                         loom::input<float, loom::extents<8>>{});
  (void)g;
}
