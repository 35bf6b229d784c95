// The typed tests (tests/typed/*_cases.hpp) on the CPU backend, part 1 of 3: every
// element-wise op (elementwise_cases.hpp) and view (view_cases.hpp), for each dtype it takes.
// tests/cuda/typed_ops_test.cu runs the same cases on a CUDA device. Three files, as there, so
// that a parallel build compiles them side by side.
#include "elementwise_cases.hpp"
#include "view_cases.hpp"
