// expect: error: static assertion failed: loom: an optimizer updates f32 or f64 parameters
// Mixed-precision training keeps f32 parameters; an optimizer over bf16 ones is refused.
#include <loom/loom.hpp>
int main() {
  loom::tensor<loom::bf16, loom::extents<4>> w;
  w.fill(loom::bf16(1.f));
  loom::adam opt(loom::adam_options{}, w);
  (void)opt;
}
