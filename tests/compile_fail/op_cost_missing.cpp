// expect: static assertion failed: loom: an element-wise op descriptor must declare .static constexpr int cost.
// An op descriptor complete but for its cost: the message says what to declare, and on which
// scale.
#include <loom/loom.hpp>
struct twice : loom::ops::floating_unary {
  static constexpr std::string_view name = "twice";
  template <class T>
  static T scalar(T x) {
    return x + x;
  }
};
int main() {
  loom::placeholder<0, float, loom::extents<4>> x;
  auto y = loom::detail::dispatch(twice{}, x);
  (void)y;
}
