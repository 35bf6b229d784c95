// expect: error: static assertion failed: loom: fullgraph: the model does not run as one fused pass.*fullgraph_fuses_at<[0-9]+, loom::ops::matmul, loom::group_end::matmul>
// fullgraph names the node where fusion breaks: here a second matmul after an epilogue.
#include <loom/loom.hpp>
int main() {
  using E = loom::extents<loom::dyn, 8>;
  auto two_layers = [](auto x, auto w) { return loom::matmul(loom::relu(loom::matmul(x, w)), w); };
  auto m = loom::compile(two_layers, loom::fullgraph, loom::input<float, E>{},
                         loom::input<float, loom::extents<8, 8>>{});
  (void)m;
}
