// The seed program (seed_model.hpp): ReLU, then a callable loom must not trace into, kept as
// one opaque node. Prints the traced graph and its plan, checks the fused result against eager mode
// and a plain loop, and times fused against eager.
#include <loom/loom.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>

#include "seed_model.hpp"

using example::custom_hook_function;
using example::my_model;

template <class F>
double best_ms(F&& f) {
  double best = 1e30;
  for (int rep = 0; rep < 20; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(
        best,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

int main() {
  using vec = loom::tensor<float, loom::extents<loom::dyn>>;
  auto compiled = loom::compile(my_model, loom::input<float, loom::extents<loom::dyn>>{});
  static_assert(decltype(compiled)::kernel_count == 1);  // fusion checked at compile time
  std::cout << loom::explain(compiled) << '\n';

  vec x(9);
  for (std::size_t i = 0; i < x.size(); ++i) x(i) = static_cast<float>(i) - 4.f;
  const vec out = compiled(x);  // fused CPU loop (Eigen), the default backend
  const vec ref = my_model(x);  // eager, op by op
  std::cout << "x      out    eager\n";
  for (std::size_t i = 0; i < x.size(); ++i)
    std::printf("%5.1f  %5.1f  %5.1f\n", x(i), out(i), ref(i));

  // Fused against eager and a plain loop on 2^24 random elements.
  const std::size_t n = std::size_t(1) << 24;
  vec big(n), fused(n);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  for (float& v : big) v = normal(rng);
  compiled.run(fused, big);
  const vec eager = my_model(big);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float expect = custom_hook_function{}(big(i) > 0 ? big(i) : 0.f);
    mismatches += fused(i) != expect || eager(i) != expect;
  }
  const double t_fused = best_ms([&] { compiled.run(fused, big); });
  const double t_eager = best_ms([&] { const vec r = my_model(big); });
  std::printf("\n2^24 elements: fused %.2f ms, eager %.2f ms (%.1fx), mismatches: %zu\n",
              t_fused,
              t_eager,
              t_eager / t_fused,
              mismatches);
  return mismatches == 0 ? 0 : 1;
}
