// expect: loom: an optimizer.s parameters are all in one memory space
// An optimizer updates its parameters with one model, on the host or on a device: a host
// weight beside a device bias is a compile error.
#include <loom/cuda.hpp>
int main() {
  loom::tensor<float, loom::extents<3, 2>> w;
  loom::cuda::device_tensor<float, loom::extents<2>> b(loom::shape{1, {2}});
  loom::sgd optimizer({.lr = 0.1}, w, b);
}
