// expect: error: static assertion failed: loom: an input's static extents differ.*input_extents_match<0, loom::extents<18446744073709551615, 4>, loom::extents<18446744073709551615, 5> >
// A model compiled for [?, 4] called with a tensor whose static extents are [?, 5].
#include <loom/loom.hpp>
int main() {
  using loom::dyn;
  auto m = loom::compile([](auto x) { return -x; }, loom::input<float, loom::extents<dyn, 4>>{});
  loom::tensor<float, loom::extents<dyn, 5>> x(2);
  m(x);
}
