// expect: error: static assertion failed: loom: an element-wise op descriptor must declare name,
// signature<T...> and scalar An op descriptor without its scalar function: the concept names the op
// and what it misses.
#include <loom/loom.hpp>
struct halve : loom::ops::floating_unary {
  static constexpr std::string_view name = "halve";
};
int main() {
  loom::placeholder<0, float, loom::extents<4>> x;
  auto y = loom::detail::dispatch(halve{}, x);
  (void)y;
}
