// The typed tests of tests/typed/ on the device, half precision: bf16 and f16 loads and
// stores, element-wise ops and callables, reductions, softmax and layer norm, matmul through
// cuBLAS with f32 accumulation, and casts (half_cases.hpp), against the double-precision
// references the CPU's run checks too. Linked with the CUDA tests' main: reported skipped
// without a device.
#include "../typed/half_cases.hpp"
