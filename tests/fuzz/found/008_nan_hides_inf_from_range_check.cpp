// Found by the random-model fuzzer (tests/fuzz, model 268 of the CMake corpus, under ASan at
// -O0): sqrt(log(pow(x0, x1))) in f64 gave NaN where pow gave +inf, whose log and sqrt are
// +inf. log, sqrt, rsqrt and f64 exp take Eigen's vectorised form only for a block whose
// least and greatest lanes lie in its exact range, and a NaN elsewhere in the block could
// win the max and hide the infinity; Eigen's vectorised sqrt gives NaN for inf on AVX-512.
// Here: sqrt of 64-element blocks holding a NaN and an infinity, over all pairs of lanes;
// before the fix 129 of the 4032 blocks gave NaN.
// Build: g++ -std=c++20 -O2 -march=native -fopenmp -Iinclude -I/usr/include/eigen3 THIS.cpp
#include <loom/loom.hpp>

#include <cmath>
#include <cstdio>
#include <limits>

template <class T>
int check() {
  using vec = loom::tensor<T, loom::extents<loom::dyn>>;
  vec x(64);
  for (std::size_t i = 0; i < 64; ++i) x(i) = T(0.75);
  int wrong = 0;
  for (std::size_t nan_at = 0; nan_at < 64; ++nan_at)
    for (std::size_t inf_at = 0; inf_at < 64; ++inf_at) {
      if (nan_at == inf_at) continue;
      vec y = x;
      y(nan_at) = std::numeric_limits<T>::quiet_NaN();
      y(inf_at) = std::numeric_limits<T>::infinity();
      const auto r = loom::sqrt(y);  // eager; a compiled model runs the same block code
      if (!(r(inf_at) == std::numeric_limits<T>::infinity())) ++wrong;
    }
  std::printf("%s: sqrt(inf) is not inf in %d of 4032 blocks (want 0)\n",
              sizeof(T) == 4 ? "f32" : "f64",
              wrong);
  return wrong;
}

int main() {
  return check<float>() + check<double>() ? 1 : 0;
}
