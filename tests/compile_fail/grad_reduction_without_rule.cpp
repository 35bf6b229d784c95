// expect: error: static assertion failed: loom: grad: this reduction has no backward rule.*has_backward_rule<sum_of_values>
// A reduction rule of the user's own has no backward rule: its gradient names it.
#include <loom/loom.hpp>
struct sum_of_values {
  static constexpr std::string_view name = "sum_of_values";
  static constexpr bool empty_allowed = true;
  using combine = loom::ops::add;
  template <class T>
  static constexpr T identity() {
    return T(0);
  }
  template <class T>
  static constexpr T finish(T folded, std::size_t) {
    return folded;
  }
  template <class T>
  struct signature : loom::signature<T, T> {};
};
int main() {
  auto g = loom::compile(loom::grad([](const auto& x) {
                           return loom::detail::dispatch(loom::ops::reduce<sum_of_values, 1u, false>{}, x);
                         }),
                         loom::input<float, loom::extents<4>>{});
  (void)g;
}
