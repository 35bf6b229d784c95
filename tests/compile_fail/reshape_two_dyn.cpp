// expect: error: static assertion failed: loom: reshape: the element counts differ, or more than one extent is dyn.*reshape_keeps_size<loom::extents<18446744073709551615, 6>, loom::extents<18446744073709551615, 2, 18446744073709551615> >
// Two dyn extents in the target: neither can be inferred.
#include <loom/loom.hpp>
int main() {
  using loom::dyn;
  loom::placeholder<0, float, loom::extents<dyn, 6>> x;
  auto r = loom::reshape<loom::extents<dyn, 2, dyn>>(x);
  (void)r;
}
