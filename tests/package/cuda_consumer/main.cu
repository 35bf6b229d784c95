// Must build against the installed package's cuda component (find_package(loom COMPONENTS
// cuda), loom::cuda) and exit 0. Runs a model on the GPU where there is one; elsewhere says
// "skipped" (the test's SKIP_REGULAR_EXPRESSION) once it has built.
#include <loom/cuda.hpp>
#include <loom/loom.hpp>

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdio>

int main() {
  using vec = loom::tensor<float, loom::extents<loom::dyn>>;
  auto m = loom::cuda::compile([](auto x) { return loom::relu(x) * 2.f; },
                               loom::input<float, loom::extents<loom::dyn>>{});
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("loom cuda consumer: built; skipped: no CUDA device\n");
    return 0;
  }
  const float in[] = {-2.f, -0.5f, 0.f, 1.5f, 3.f};
  const float want[] = {0.f, 0.f, 0.f, 3.f, 6.f};
  vec x(std::size_t{5});
  for (std::size_t i = 0; i < 5; ++i) x(i) = in[i];
  const vec y = loom::cuda::to_host(m(nullptr, loom::cuda::to_device(x)));
  int bad = y.size() != 5;
  for (std::size_t i = 0; !bad && i < 5; ++i) bad += y(i) != want[i];
  std::printf("loom cuda consumer: %s\n", bad ? "FAIL" : "ok");
  return bad ? 1 : 0;
}
