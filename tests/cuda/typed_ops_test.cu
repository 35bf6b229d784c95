// The typed tests of tests/typed/ on the device, part 1 of 3: every element-wise op
// (elementwise_cases.hpp) and view (view_cases.hpp) that tests/typed/typed_*_cpu_test.cpp runs on
// the CPU, for each dtype it takes, against the same double-precision references. Linked
// with the CUDA tests' main: reported skipped without a device. The cases are split over
// three files (typed_reductions_test.cu, typed_models_test.cu) to keep each file's nvcc time
// in bounds.
#include "../typed/elementwise_cases.hpp"
#include "../typed/view_cases.hpp"
