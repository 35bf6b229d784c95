// expect: loom: in a CUDA model a whole-tensor F is called as f\(inputs..., output,
// stream\).*opaque_call<host_views_only> A whole-tensor F with only the CPU form (host views, no
// stream) cannot run in a CUDA model.
#include <loom/cuda.hpp>
struct host_views_only {
  using granularity = loom::whole_tensor;
  void operator()(loom::tensor_view<const float> in, loom::tensor_view<float> out) const {
    for (std::size_t i = 0; i < in.size(); ++i) out.data()[i] = in.data()[i];
  }
};
int main() {
  auto m = loom::cuda::compile([](auto x) { return loom::allow_in_graph<host_views_only>{}(x); },
                               loom::input<float, loom::extents<loom::dyn>>{});
  loom::cuda::device_tensor<float> x(loom::shape{1, {4}});
  auto y = m(nullptr, x);
}
