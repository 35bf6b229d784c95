// W8 under nvcc (bench/compile_time_cuda.sh): the attention block of examples/attention.cpp
// on the GPU, as a user's file holds it: its model, loom::cuda::to_cuda, one call. Built for
// timing only, never run.
#include <cuda_runtime.h>

#include <loom/cuda.hpp>

#include "attention_block.hpp"

int main() {
  using namespace example;
  auto block = loom::cuda::to_cuda(compile_attention_block());
  cudaStream_t stream;
  cudaStreamCreate(&stream);
  loom::tensor<float, loom::extents<loom::dyn, d>> x(256);
  loom::tensor<float, loom::extents<d, d>> w;
  loom::tensor<float, loom::extents<d>> v;
  const auto dx = loom::cuda::to_device(x, stream);
  const auto dw = loom::cuda::to_device(w, stream);
  const auto dv = loom::cuda::to_device(v, stream);
  const auto y = block(stream, dx, dw, dw, dw, dv, dv);
  return int(y.size());
}
