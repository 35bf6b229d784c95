// Found by the random-model fuzzer (tests/fuzz, model 149). This valid model does not
// compile: the fusion planner's depth-first walk in fusion_plan::reads_of_step
// (graph/plan.hpp) pushes each operand of a node, so an op whose two operands are one value
// (`a * a`) pushes it twice, and the stack, sized node_count, overflows during constant
// evaluation ("array subscript value '3' is outside the bounds of array type
// 'long unsigned int [4]'"). The fixed library compiles it and prints 4 and 2.
// Build: g++ -std=c++20 -O1 -fopenmp -Iinclude -I/usr/include/eigen3 THIS.cpp
#include <loom/loom.hpp>

#include <cstdio>

int main() {
  auto model = [](auto x) {
    auto a = x + x;
    return std::make_tuple(a * a, a);
  };
  auto m = loom::compile(model, loom::input<float, loom::extents<loom::dyn>>{});
  loom::tensor<float> x(1);
  x(0) = 1.f;
  const auto [square, twice] = m(x);
  std::printf("%g %g\n", square(0), twice(0));
  return square(0) == 4.f && twice(0) == 2.f ? 0 : 1;
}
