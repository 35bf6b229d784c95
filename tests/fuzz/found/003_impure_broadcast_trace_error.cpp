// Found by the random-model fuzzer (tests/fuzz). An impure element-wise callable whose
// result is broadcast against a larger operand: eager mode calls it once per element of its
// own result (4 here) and the guide says a compiled model does the same ("Each call in the
// model calls F once per element, as in eager mode"); the compiled model throws
// loom::trace_error at run time instead ("impure opaque node %1 computes [4] elements inside
// a pass over [3, 4]"), which the guide does not document (it names trace_error for
// compile() only, for an impure result used by two fusion groups).
// Build: g++ -std=c++20 -O1 -fopenmp -Iinclude -I/usr/include/eigen3 THIS.cpp
#include <loom/loom.hpp>

#include <atomic>
#include <cstdio>

struct tally {
  static constexpr bool is_pure = false;
  std::atomic<long>* calls;
  float operator()(float x) const {
    calls->fetch_add(1);
    return x + x;
  }
};

int main() {
  std::atomic<long> calls{0};
  auto model = [&calls](auto v, auto w) {
    return loom::allow_in_graph<tally>{{&calls}}(v) + w;
  };
  loom::tensor<float, loom::extents<4>> v;
  loom::tensor<float, loom::extents<3, 4>> w;
  v.fill(1.f);
  w.fill(2.f);
  try {
    auto m = loom::compile(
        model, loom::input<float, loom::extents<4>>{}, loom::input<float, loom::extents<3, 4>>{});
    const auto r = m(v, w);
    std::printf("calls %ld (want 4), r(2, 3) = %g (want 4)\n", calls.load(), r(2, 3));
    return calls == 4 && r(2, 3) == 4.f ? 0 : 1;
  } catch (const std::exception& e) {
    std::printf("compiled model threw: %s\n", e.what());
    return 1;
  }
}
