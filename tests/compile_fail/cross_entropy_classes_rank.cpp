// expect: error: static assertion failed: loom: cross_entropy: class indices have one axis fewer than the logits
// Class indices with the logits' rank (a one-hot layout) are refused.
#include <loom/loom.hpp>
#include <cstdint>
int main() {
  auto m = loom::compile([](auto l, auto c) { return loom::cross_entropy(l, c); },
                         loom::input<float, loom::extents<loom::dyn, 3>>{},
                         loom::input<std::int32_t, loom::extents<loom::dyn, 3>>{});
  (void)m;
}
