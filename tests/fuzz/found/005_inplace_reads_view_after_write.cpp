// Found by the random-model fuzzer (tests/fuzz, model 281 of the CMake corpus). Run in
// place, with its first result written over x, this model returns sqrt(x) and a reshape of x.
// The guide (Running in place) allows a run in place only where every element of x is read
// before its own result is written, and otherwise promises loom::alias_error with nothing
// written. loom accepts the run but computes the reshape after writing sqrt(x) over x, so
// the second result holds sqrt(x) (NaN for negative x) instead of x.
// Build: g++ -std=c++20 -O1 -fopenmp -Iinclude -I/usr/include/eigen3 THIS.cpp
#include <loom/loom.hpp>

#include <cmath>
#include <cstdio>

int main() {
  auto m = loom::compile(
      [](auto x) { return std::make_tuple(loom::sqrt(x), loom::reshape<loom::extents<1, 4>>(x)); },
      loom::input<float, loom::extents<4>>{});
  loom::tensor<float, loom::extents<4>> x;
  x(0) = 4.f, x(1) = -1.f, x(2) = 9.f, x(3) = 16.f;
  loom::tensor<float, loom::extents<1, 4>> flat;
  try {
    m.run(std::tie(x, flat), x);
  } catch (const loom::error& e) {
    std::printf("refused: %s\n", e.what());  // also correct, if x is unchanged
    return x(0) == 4.f ? 0 : 1;
  }
  std::printf("sqrt: %g %g %g %g; reshape: %g %g %g %g (want 4 -1 9 16)\n",
              x(0),
              x(1),
              x(2),
              x(3),
              flat(0, 0),
              flat(0, 1),
              flat(0, 2),
              flat(0, 3));
  return flat(0, 0) == 4.f && flat(0, 1) == -1.f && flat(0, 2) == 9.f && flat(0, 3) == 16.f ? 0 : 1;
}
