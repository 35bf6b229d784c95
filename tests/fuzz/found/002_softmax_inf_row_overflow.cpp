// Found by the random-model fuzzer (tests/fuzz). The guide (Composite ops): "where a row
// holds +inf, ... softmax gives NaN at the +inf entries and 0 elsewhere". For a finite entry
// above log(FLT_MAX) (~88.7) in such a row, loom gives NaN instead of 0: the row is shifted
// by 0 (its max is infinite), exp(100) overflows to inf in f32, and inf / inf is NaN.
// log_softmax (-inf there) and logsumexp (+inf) are as documented.
// Build: g++ -std=c++20 -O1 -fopenmp -Iinclude -I/usr/include/eigen3 THIS.cpp
#include <loom/loom.hpp>

#include <cmath>
#include <cstdio>

int main() {
  loom::tensor<float, loom::extents<1, 3>> x;
  x(0, 0) = INFINITY, x(0, 1) = 100.f, x(0, 2) = 1.f;
  auto softmax = loom::compile([](auto x) { return loom::softmax(x); },
                               loom::input<float, loom::extents<1, 3>>{});
  const auto fused = softmax(x);
  const auto eager = loom::softmax(x);
  std::printf("softmax([inf, 100, 1]): compiled %g %g %g, eager %g %g %g, want nan 0 0\n",
              fused(0, 0),
              fused(0, 1),
              fused(0, 2),
              eager(0, 0),
              eager(0, 1),
              eager(0, 2));
  const bool ok = std::isnan(fused(0, 0)) && fused(0, 1) == 0 && fused(0, 2) == 0 &&
                  std::isnan(eager(0, 0)) && eager(0, 1) == 0 && eager(0, 2) == 0;
  return ok ? 0 : 1;
}
