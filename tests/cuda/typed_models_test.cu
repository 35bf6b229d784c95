// The typed tests of tests/typed/ on the device, part 3 of 3: every matmul form
// (matmul_cases.hpp) and composite (composite_cases.hpp) that tests/typed/typed_*_cpu_test.cpp runs
// on the CPU, for each dtype it takes, against the same double-precision references. Linked
// with the CUDA tests' main: reported skipped without a device. See typed_ops_test.cu for why
// the cases are split.
#include "../typed/composite_cases.hpp"
#include "../typed/matmul_cases.hpp"
