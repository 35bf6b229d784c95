// The typed tests on the CPU backend, part 3 of 3: every matmul form (matmul_cases.hpp) and
// composite (composite_cases.hpp), for each dtype it takes. tests/cuda/typed_models_test.cu
// runs them on a CUDA device.
#include "composite_cases.hpp"
#include "matmul_cases.hpp"
