// expect: loom::cuda: bf16 and f16 values run on the CPU backend only, so far
// Half-precision models compile for the CPU backend; the CUDA backend refuses them by name.
#include <loom/cuda.hpp>
int main() {
  auto m = loom::cuda::compile([](auto x) { return x * 2.f; },
                               loom::input<loom::bf16, loom::extents<loom::dyn>>{});
  (void)m;
}
