// expect: error: static assertion failed: loom: grad: a reshape's gradient is reshaped back to its operand's extents.*reshape_back_has_one_dyn_extent<loom::extents<18446744073709551615, 18446744073709551615> >
// A reshape's gradient is reshaped back to its operand's extents: two dyn extents cannot be.
#include <loom/loom.hpp>
int main() {
  using loom::dyn;
  auto g = loom::compile(
      loom::grad([](const auto& x) { return loom::sum(loom::reshape<loom::extents<dyn>>(x)); }),
      loom::input<float, loom::extents<dyn, dyn>>{});
  (void)g;
}
