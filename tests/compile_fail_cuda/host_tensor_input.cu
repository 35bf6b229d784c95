// expect: loom: a compiled model takes tensors or views in its backend.s memory
// A host tensor passed to a CUDA model: copy it with loom::cuda::to_device first.
#include <loom/cuda.hpp>
int main() {
  auto m = loom::cuda::compile([](auto x) { return x * 2.f; },
                               loom::input<float, loom::extents<loom::dyn>>{});
  loom::tensor<float> x(4);
  auto y = m(nullptr, x);
}
