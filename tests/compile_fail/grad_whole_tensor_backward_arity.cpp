// expect: error: static assertion failed: loom: grad: F::backward must take \(inputs..., output, grad_output, grad_inputs...\) as views.*backward_callable_on<copy_all,
// F::backward without the cotangent of the output names F and the views.
#include <loom/loom.hpp>
template <class T>
using view = loom::tensor_view<T, loom::extents<loom::dyn>>;
struct copy_all {
  using granularity = loom::whole_tensor;
  void operator()(view<const float> in, view<float> out) const {
    for (std::size_t i = 0; i < in.size(); ++i) out.data()[i] = in.data()[i];
  }
  // The cotangent of the output is missing.
  void backward(view<const float> x, view<const float> y, view<float> gx) const {
    (void)x, (void)y, (void)gx;
  }
};
int main() {
  auto g = loom::compile(loom::grad([](const auto& x) { return loom::sum(loom::allow_in_graph<copy_all>{}(x)); }),
                         loom::input<float, loom::extents<loom::dyn>>{});
  loom::tensor<float, loom::extents<loom::dyn>> x(4);
  g(x.fill(1.f));  // the call step, which calls F::backward, is built by the first run
}
