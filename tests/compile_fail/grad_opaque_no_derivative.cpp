// expect: error: static assertion failed: loom: grad: allow_in_graph<F> is on a differentiated path, but F declares no derivative.*declares_derivative<clipped, 0, float>
// An element-wise black box on a differentiated path without a derivative names F.
#include <loom/loom.hpp>
struct clipped {
  float operator()(float x) const { return x < 1.f ? x : 1.f; }
};
int main() {
  auto g = loom::compile(loom::grad([](const auto& x) { return loom::sum(loom::allow_in_graph<clipped>{}(x)); }),
                         loom::input<float, loom::extents<loom::dyn>>{});
  (void)g;
}
