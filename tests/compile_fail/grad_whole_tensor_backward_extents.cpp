// expect: error: static assertion failed: loom: grad: F::backward must take \(inputs..., output, grad_output, grad_inputs...\) as views.*backward_callable_on<copy_all,
// An F::backward whose gradient view has other extents than its input names F and the views.
#include <loom/loom.hpp>
template <class T>
using view = loom::tensor_view<T, loom::extents<loom::dyn>>;
struct copy_all {
  using granularity = loom::whole_tensor;
  void operator()(view<const float> in, view<float> out) const {
    for (std::size_t i = 0; i < in.size(); ++i) out.data()[i] = in.data()[i];
  }
  // The gradient's extents are not its input's ([3]).
  void backward(view<const float> x, view<const float> y, view<const float> g,
                loom::tensor_view<float, loom::extents<4>> gx) const {
    (void)x, (void)y, (void)g, (void)gx;
  }
};
int main() {
  auto g = loom::compile(loom::grad([](const auto& x) { return loom::sum(loom::allow_in_graph<copy_all>{}(x)); }),
                         loom::input<float, loom::extents<3>>{});
  loom::tensor<float, loom::extents<3>> x;
  g(x.fill(1.f));  // the call step, which calls F::backward, is built by the first run
}
