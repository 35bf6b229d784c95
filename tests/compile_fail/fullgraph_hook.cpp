// expect: error: static assertion failed: loom: fullgraph: the model does not run as one fused pass.*fullgraph_fuses_at<[0-9]+, loom::ops::hook<.*loom::group_end::call>
// A hook is a barrier: fullgraph refuses it, naming the hook node.
#include <loom/loom.hpp>
int main() {
  auto model = [](auto x) { return loom::hook(x * 2.f, [](auto) {}) + 1.f; };
  auto m = loom::compile(model, loom::fullgraph, loom::input<float, loom::extents<loom::dyn>>{});
  (void)m;
}
