// The typed tests on the CPU backend, part 2 of 3: every reduction (reduction_cases.hpp), for
// each dtype it takes. tests/cuda/typed_reductions_test.cu runs them on a CUDA device.
#include "reduction_cases.hpp"
