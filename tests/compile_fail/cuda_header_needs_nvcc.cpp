// expect: loom/cuda.hpp is the CUDA backend: compile this file with nvcc
// The CUDA backend's header in a file a plain C++ compiler builds.
#include <loom/cuda.hpp>
int main() {}
