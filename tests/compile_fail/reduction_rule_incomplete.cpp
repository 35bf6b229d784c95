// expect: error: static assertion failed: loom: a reduction's rule must declare name, signature<T>,
// empty_allowed and either A reduction rule with combine and identity but no finish: neither a fold
// nor a choice.
#include <loom/loom.hpp>
struct sum_of_squares {
  static constexpr std::string_view name = "sum_of_squares";
  static constexpr bool empty_allowed = true;
  using combine = loom::ops::add;
  template <class T>
  static constexpr T identity() {
    return T(0);
  }
  template <class T>
  struct signature : loom::signature<T, T> {};
};
int main() {
  loom::placeholder<0, float, loom::extents<4>> x;
  auto y = loom::detail::dispatch(loom::ops::reduce<sum_of_squares, 1u, false>{}, x);
  (void)y;
}
