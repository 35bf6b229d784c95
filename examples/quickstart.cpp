// The three ways to run one model: eager, traced (compile), and scripted (placeholders).
#include <loom/loom.hpp>

#include <cmath>
#include <cstdio>

int main() {
  using loom::dyn;
  using vec = loom::tensor<float, loom::extents<dyn>>;

  // A model is a generic callable over tensors.
  auto swish_plus = [](auto x, auto y) {
    return x * loom::sigmoid(x) + y * 0.5f;
  };

  vec x(5), y(5);
  for (std::size_t i = 0; i < 5; ++i) {
    x(i) = static_cast<float>(i) - 2.f;
    y(i) = 1.f + static_cast<float>(i);
  }

  // 1. Eager: every op runs at once and materialises its result.
  const vec eager = swish_plus(x, y);

  // 2. Traced: called once at compile time with placeholders; the graph is its return type.
  auto traced = loom::compile(swish_plus, x, y);  // example tensors give dtypes and extents
  const vec fused = traced(x, y);

  // 3. Scripted: the same graph written from placeholders, no lambda.
  loom::placeholder<0, float, loom::extents<dyn>> px;
  loom::placeholder<1, float, loom::extents<dyn>> py;
  auto scripted = loom::compile(px * loom::sigmoid(px) + py * 0.5f);
  const vec script = scripted(x, y);

  int bad = 0;
  for (std::size_t i = 0; i < 5; ++i) {
    const double xd = x(i), expect = xd / (1 + std::exp(-xd)) + y(i) * 0.5;
    std::printf(
        "%5.2f  eager %.6f  traced %.6f  scripted %.6f\n", x(i), eager(i), fused(i), script(i));
    bad += std::abs(fused(i) - expect) > 1e-5 || std::abs(eager(i) - expect) > 1e-5 ||
           std::abs(script(i) - expect) > 1e-5;
  }
  static_assert(decltype(traced)::kernel_count == 1);
  return bad;
}
