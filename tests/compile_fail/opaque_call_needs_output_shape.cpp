// expect: error: static assertion failed: loom: allow_in_graph<F>: F::output_extents has dyn extents, so F must declare static loom::shape output_shape.*output_shape_computable<row_count, loom::extents<18446744073709551615, 4> >
// Dynamic result extents need a rule to size the result at run time.
#include <loom/loom.hpp>
struct row_count {
  using granularity = loom::whole_tensor;
  template <class E>
  using output_extents = loom::extents<loom::dyn>;
  void operator()(loom::tensor_view<const float, loom::extents<loom::dyn, 4>>,
                  loom::tensor_view<float, loom::extents<loom::dyn>>) const {}
};
int main() {
  loom::placeholder<0, float, loom::extents<loom::dyn, 4>> x;
  auto y = loom::allow_in_graph<row_count>{}(x);
  (void)y;
}
