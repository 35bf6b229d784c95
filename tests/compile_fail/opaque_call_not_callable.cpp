// expect: error: static assertion failed: loom: allow_in_graph<F> \(whole tensor\): a const F must take a read-only tensor_view of each input, then a tensor_view of its result.*callable_on_views<takes_elements, loom::tensor_view<float
// A whole-tensor F whose call operator takes elements, not views, names F.
#include <loom/loom.hpp>
struct takes_elements {
  using granularity = loom::whole_tensor;
  float operator()(float x) const { return x; }
};
int main() {
  loom::placeholder<0, float, loom::extents<loom::dyn>> x;
  auto y = loom::allow_in_graph<takes_elements>{}(x);
  (void)y;
}
