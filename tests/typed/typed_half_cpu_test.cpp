// The typed half-precision cases (half_cases.hpp) on the CPU backend, compiled and eager.
// tests/cuda/typed_half_test.cu runs the same cases on a CUDA device.
#include "half_cases.hpp"
