// expect: error: static assertion failed: loom: grad: the model must return one rank-0 floating-point value \(a loss\).*is_scalar_loss<loom::apply<loom::ops::exp
// grad needs a rank-0 loss.
#include <loom/loom.hpp>
int main() {
  auto g = loom::compile(loom::grad([](const auto& x) { return loom::exp(x); }),
                         loom::input<float, loom::extents<loom::dyn>>{});
  (void)g;
}
