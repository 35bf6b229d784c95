// expect: error: static assertion failed: loom: grad: loom::wrt names an input the model lacks
// wrt<1> on a model of one input.
#include <loom/loom.hpp>
int main() {
  auto g = loom::compile(loom::grad([](const auto& x) { return loom::sum(x); }, loom::wrt<1>),
                         loom::input<float, loom::extents<4>>{});
  (void)g;
}
