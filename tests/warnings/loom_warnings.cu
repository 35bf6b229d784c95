// Built with nvcc's -Werror=all-warnings and the host compiler's -Wall -Wextra
// (tests/CMakeLists.txt): a warning that loom's headers give a file including both
// loom/loom.hpp and loom/cuda.hpp fails the build. Two small models, run on the CPU and, where
// there is a device, on the GPU: a map and reductions to rank-0 results, one of a rank-0
// input; and a model without steps (it returns its input). Rank 0 and empty plans are where
// loops to a bound of 0 draw nvcc's warnings. Kept small: nvcc is slow, and this is compile
// time in every CUDA test build.
#include <loom/cuda.hpp>
#include <loom/loom.hpp>

#include <cuda_runtime.h>

#include <tuple>

namespace {

using loom::dyn;
using loom::extents;
using mat_input = loom::input<float, extents<dyn, dyn>>;
using scalar_input = loom::input<float, extents<>>;

const auto scaled_sum = [](auto x, auto s) {
  const auto t = loom::reshape<extents<>>(s) + loom::broadcast_to<extents<>>(s);  // rank-0 views
  return std::make_tuple(loom::sum(loom::relu(x) * s), loom::max(t));
};
const auto identity = [](auto s) {
  return s;
};

}  // namespace

int main() {
  loom::tensor<float, extents<dyn, dyn>> x(2, 3);
  loom::tensor<float, extents<>> s;
  x.fill(1.f);
  s.fill(2.f);
  const auto cpu_sum = loom::compile(scaled_sum, mat_input{}, scalar_input{});
  const auto cpu_identity = loom::compile(identity, scalar_input{});
  const auto gpu_sum = loom::cuda::to_cuda(cpu_sum);
  const auto gpu_identity = loom::cuda::compile(identity, scalar_input{});
  const bool cpu_ok =
      std::get<0>(cpu_sum(x, s)).size() == 1 && cpu_identity(s).size() == 1 &&
      !(loom::explain(cpu_identity) + loom::to_dot(cpu_identity) + loom::to_jaxpr(cpu_sum)).empty();

  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) return 77;  // skipped
  const auto dx = loom::cuda::to_device(x);
  const auto ds = loom::cuda::to_device(s);
  const auto sum = loom::cuda::to_host(std::get<0>(gpu_sum(nullptr, dx, ds)));
  const auto same = loom::cuda::to_host(gpu_identity(nullptr, ds));
  return cpu_ok && sum.size() == 1 && same.size() == 1 ? 0 : 1;
}
