// Found by the random-model fuzzer (tests/fuzz). The guide (Ops and dtypes) says
// "where(c, a, b) gives the promotion of a and b", and a C++ scalar is weak: beside an i32
// tensor `a`, the scalar 2 is i32, so where(c, a, 2) should be i32. With a float condition
// loom makes the scalar adopt the condition's dtype too, and the result is f32 (PyTorch has
// no non-bool condition; its promotion never involves the condition).
// Build: g++ -std=c++20 -O1 -fopenmp -Iinclude -I/usr/include/eigen3 THIS.cpp
#include <loom/loom.hpp>

#include <cstdio>
#include <string_view>

int main() {
  loom::tensor<float, loom::extents<3>> c;
  loom::tensor<std::int32_t, loom::extents<3>> a;
  c(0) = 1, c(1) = 0, c(2) = 2;
  a(0) = 5, a(1) = 6, a(2) = 7;
  auto eager = loom::where(c, a, 2);
  auto compiled = loom::compile([](auto c, auto a) { return loom::where(c, a, 2); },
                                loom::input<float, loom::extents<3>>{},
                                loom::input<std::int32_t, loom::extents<3>>{});
  using eager_t = typename decltype(eager)::value_type;
  using compiled_t = typename decltype(compiled(c, a))::value_type;
  const std::string_view e = loom::dtype_name<eager_t>(), m = loom::dtype_name<compiled_t>();
  std::printf(
      "where(f32 condition, i32 a, 2): eager %s, compiled %s, want i32\n", e.data(), m.data());
  return e == "i32" && m == "i32" ? 0 : 1;
}
