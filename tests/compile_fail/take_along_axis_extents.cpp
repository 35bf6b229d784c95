// expect: error: static assertion failed: loom: take_along_axis: the indices must have the operand's rank.*indices_fit_operand<loom::extents<3, 4>, loom::extents<5, 2>, 1>
// Indices whose static extents differ from the operand's off the axis are refused.
#include <loom/loom.hpp>
#include <cstdint>
int main() {
  auto m = loom::compile([](auto x, auto i) { return loom::take_along_axis<-1>(x, i); },
                         loom::input<float, loom::extents<3, 4>>{},
                         loom::input<std::int32_t, loom::extents<5, 2>>{});
  (void)m;
}
