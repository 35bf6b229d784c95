// Found by the random-model fuzzer (tests/fuzz, seed 10053, max 5 ops). Two impure
// element-wise calls in a row on a hooked value, the second's result returned and also
// compared with the hooked value: compile() throws loom::trace_error ("the copies of impure
// opaque node tally are computed by different steps of the plan ... a loom planning error;
// please report it"). Tracing copies the hook into each use, and the second copy's step came
// after the first chain's step. The same with a fusion barrier over `x * 2.f` (a run-time
// scalar) or an impure whole-tensor call in place of the hook.
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
  std::atomic<long> first{0}, second{0};
  auto model = [&](auto x, auto y) {
    auto h = loom::hook(x, [](auto) {});
    auto z = loom::allow_in_graph<tally>{{&second}}(loom::allow_in_graph<tally>{{&first}}(h + y));
    return std::make_tuple(loom::minimum(z, h), z, h);
  };
  try {
    using vec = loom::input<float, loom::extents<loom::dyn>>;
    auto m = loom::compile(model, vec{}, vec{});
    loom::tensor<float> x(3), y(3);
    x.fill(1.f);
    y.fill(2.f);
    const auto [low, z, h] = m(x, y);
    std::printf("calls %ld %ld (want 3 3), z(0) = %g (want 12), low(0) = %g (want 1)\n",
                first.load(),
                second.load(),
                z(0),
                low(0));
    return first == 3 && second == 3 && z(0) == 12.f && low(0) == 1.f ? 0 : 1;
  } catch (const std::exception& e) {
    std::printf("compile() threw: %s\n", e.what());
    return 1;
  }
}
