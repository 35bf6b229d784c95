// Found by the random-model fuzzer (tests/fuzz, model 196 of the CMake corpus). Two impure
// element-wise calls in a row, the second's result returned and also given to a whole-tensor
// callable: compile() throws loom::trace_error ("the copies of impure opaque node tally are
// computed by different steps of the plan ... a loom planning error; please report it").
// Eager mode runs it, calling each F once per element; the guide says compiled models do the
// same.
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

struct copy_all {  // a whole-tensor callable
  using granularity = loom::whole_tensor;
  template <class In, class Out>
  void operator()(In in, Out out) const {
    for (std::size_t i = 0; i < in.size(); ++i) out.data()[i] = in.data()[i];
  }
};

int main() {
  std::atomic<long> first{0}, second{0};
  auto model = [&](auto x) {
    auto y = loom::allow_in_graph<tally>{{&second}}(loom::allow_in_graph<tally>{{&first}}(x));
    return std::make_tuple(loom::allow_in_graph<copy_all>{}(y), y);
  };
  try {
    auto m = loom::compile(model, loom::input<float, loom::extents<loom::dyn>>{});
    loom::tensor<float> x(3);
    x.fill(1.f);
    const auto [copied, y] = m(x);
    std::printf("calls %ld %ld (want 3 3), y(0) = %g, copied(0) = %g (want 4 4)\n",
                first.load(),
                second.load(),
                y(0),
                copied(0));
    return first == 3 && second == 3 && y(0) == 4.f && copied(0) == 4.f ? 0 : 1;
  } catch (const std::exception& e) {
    std::printf("compile() threw: %s\n", e.what());
    return 1;
  }
}
