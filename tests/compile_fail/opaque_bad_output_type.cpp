// expect: error: static assertion failed: loom: allow_in_graph<F>: F::output_type must be float, double, loom::bf16, loom::f16, int32_t or bool.*opaque_output_is_dtype<returns_long, float>
// F::output_type must be one of loom's dtypes.
#include <loom/loom.hpp>
struct returns_long {
  using output_type = long;
  long operator()(float a) const { return static_cast<long>(a); }
};
int main() {
  loom::placeholder<0, float, loom::extents<loom::dyn>> x;
  auto y = loom::allow_in_graph<returns_long>{}(x);
  (void)y;
}
