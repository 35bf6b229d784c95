// The typed tests (tests/typed/*_cases.hpp) on the CPU backend: every element-wise op,
// reduction, view, matmul form and composite, for each dtype it takes. tests/cuda/typed_test.cu
// runs the same cases on both backends where a CUDA device is present.
#include "composite_cases.hpp"
#include "elementwise_cases.hpp"
#include "matmul_cases.hpp"
#include "reduction_cases.hpp"
#include "view_cases.hpp"
