// expect: calling a __host__ function from a __host__ __device__ function is not
// allowed.*F=host_only_scale An element-wise F runs inside the generated kernel: a call operator
// without __device__ is a compile error that names F.
#include <loom/cuda.hpp>
struct host_only_scale {
  float operator()(float x) const { return x * 3; }
};
int main() {
  auto m = loom::cuda::compile([](auto x) { return loom::allow_in_graph<host_only_scale>{}(x); },
                               loom::input<float, loom::extents<loom::dyn>>{});
  loom::cuda::device_tensor<float> x(loom::shape{1, {4}});
  auto y = m(nullptr, x);
}
