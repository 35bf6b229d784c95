// expect: error: static assertion failed: loom: grad: an operand's dyn extent may be broadcast at run time.*broadcast_known_at_compile_time<loom::ops::mul, loom::extents<18446744073709551615>, loom::extents<18446744073709551615>, false>
// Two unnamed dyn extents from different inputs meet: either may be 1 at run time.
#include <loom/loom.hpp>
int main() {
  using vec = loom::input<float, loom::extents<loom::dyn>>;
  auto g = loom::compile(loom::grad([](const auto& x, const auto& y) { return loom::sum(x * y); }), vec{}, vec{});
  (void)g;
}
