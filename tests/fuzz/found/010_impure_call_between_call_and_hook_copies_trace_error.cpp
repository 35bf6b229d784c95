// Found by the random-model fuzzer (tests/fuzz, seed 547, max 9 ops). An impure element-wise
// call on the sum of an impure whole-tensor call's result, hooked, the hook's value used twice:
// compile() throws loom::trace_error ("the copies of impure opaque node tally are computed by
// different steps of the plan ... a loom planning error; please report it"). Tracing copies
// the chain into each use; the copies of the element-wise call wait for both copies of the
// sum, and the second copy of the whole-tensor call came after the first copy of the hook in
// the order that calls and hooks keep, so the constraints met in a cycle.
// Build: g++ -std=c++20 -O1 -fopenmp -Iinclude -I/usr/include/eigen3 THIS.cpp
#include <loom/loom.hpp>

#include <algorithm>
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

struct record {
  using granularity = loom::whole_tensor;
  static constexpr bool is_pure = false;
  void operator()(loom::tensor_view<const float> in, loom::tensor_view<float> out) const {
    std::copy(in.begin(), in.end(), out.begin());
  }
};

int main() {
  std::atomic<long> calls{0};
  auto model = [&](auto x, auto y) {
    auto h = loom::hook(
        loom::allow_in_graph<tally>{{&calls}}(loom::sum(loom::allow_in_graph<record>{}(x))),
        [](auto) {});
    return std::make_tuple(loom::maximum(h, y), h);
  };
  try {
    using vec = loom::input<float, loom::extents<loom::dyn>>;
    auto m = loom::compile(model, vec{}, vec{});
    loom::tensor<float> x(3), y(3);
    x.fill(1.f);
    y.fill(7.f);
    const auto [top, h] = m(x, y);
    std::printf(
        "calls %ld (want 1), h = %g (want 6), top(0) = %g (want 7)\n", calls.load(), h(), top(0));
    return calls == 1 && h() == 6.f && top(0) == 7.f ? 0 : 1;
  } catch (const std::exception& e) {
    std::printf("compile() threw: %s\n", e.what());
    return 1;
  }
}
