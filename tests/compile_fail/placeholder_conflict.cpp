// expect: error: static assertion failed: loom: two placeholders with one number declare different dtypes or extents
// Both stand for input 0, so the model could not say which buffer type input 0 is.
#include <loom/loom.hpp>
int main() {
  loom::placeholder<0, float, loom::extents<loom::dyn>> a;
  loom::placeholder<0, double, loom::extents<loom::dyn>> b;
  auto m = loom::compile(loom::cast<double>(a) + b);
  (void)m;
}
