// expect: error: static assertion failed: loom: take_along_axis: the indices must be int32
// Indices of another dtype are refused.
#include <loom/loom.hpp>
int main() {
  auto m = loom::compile([](auto x, auto i) { return loom::take_along_axis<1>(x, i); },
                         loom::input<float, loom::extents<3, 4>>{},
                         loom::input<float, loom::extents<3, 2>>{});
  (void)m;
}
