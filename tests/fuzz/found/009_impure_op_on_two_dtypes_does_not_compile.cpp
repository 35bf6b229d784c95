// Found by the random-model fuzzer (tests/fuzz, seed 313, outside the CMake corpus's range).
// One impure element-wise callable applied to an int32 value and, in the same fused pass, to
// a float value built on it: the model did not compile ("no match for operator=" between a
// float block and an int block in backends/common/evaluate.hpp). The evaluator took every
// earlier node with the same impure op for a possible copy of the call, whose value it may
// reuse, without asking for the same element type.
// Build: g++ -std=c++20 -O1 -fopenmp -Iinclude -I/usr/include/eigen3 THIS.cpp
#include <loom/loom.hpp>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>

struct tally {
  static constexpr bool is_pure = false;
  std::atomic<long>* calls;
  template <class T>
  T operator()(T x) const {
    calls->fetch_add(1);
    return x + x;
  }
};

int main() {
  std::atomic<long> first{0}, second{0};
  auto model = [&](auto k) {
    return loom::allow_in_graph<tally>{{&second}}(
        loom::sin(loom::allow_in_graph<tally>{{&first}}(k)));
  };
  auto m = loom::compile(model, loom::input<std::int32_t, loom::extents<loom::dyn>>{});
  loom::tensor<std::int32_t> k(3);
  k(0) = 1;
  k(1) = -2;
  k(2) = 7;
  const auto r = m(k);
  const double want = 2 * std::sin(2.0 * 7);
  std::printf(
      "calls %ld %ld (want 3 3), r(2) = %g (want %g)\n", first.load(), second.load(), r(2), want);
  return first == 3 && second == 3 && std::abs(r(2) - want) < 1e-6 ? 0 : 1;
}
