// expect: error: static assertion failed: loom: fullgraph: the model does not run as one fused pass.*fullgraph_fuses_at<2, loom::ops::barrier, loom::group_end::call>
// A gradient model compiled with fullgraph must run as one fused pass: a fusion barrier in
// the model ends one (its gradient passes through it, its value stays materialised).
#include <loom/loom.hpp>
int main() {
  auto g = loom::compile(
      loom::grad([](const auto& x) { return loom::sum(loom::exp(loom::fusion_barrier(x * x))); }),
      loom::fullgraph,
      loom::input<float, loom::extents<loom::dyn>>{});
  (void)g;
}
