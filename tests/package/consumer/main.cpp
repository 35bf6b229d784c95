// Must build against the installed package and exit 0. Uses the whole public API header
// and runs a compiled model, so an incomplete header install fails here.
#include <Eigen/Core>  // reaches us only through loom::loom's usage requirements
#include <loom/loom.hpp>

#include <cstddef>
#include <cstdio>

int main() {
  using vec = loom::tensor<float, loom::extents<loom::dyn>>;
  auto m = loom::compile([](auto x) { return loom::relu(x) * 2.f; },
                         loom::input<float, loom::extents<loom::dyn>>{});

  const float in[] = {-2.f, -0.5f, 0.f, 1.5f, 3.f};
  const float want[] = {0.f, 0.f, 0.f, 3.f, 6.f};
  vec x(std::size_t{5});
  for (std::size_t i = 0; i < 5; ++i) x(i) = in[i];
  const vec y = m(x);

  int bad = y.size() != 5;
  for (std::size_t i = 0; !bad && i < 5; ++i) {
    if (y(i) != want[i]) {
      std::printf("relu(%g) * 2 = %g, want %g\n", in[i], y(i), want[i]);
      ++bad;
    }
  }
  const Eigen::Vector2i v(1, 2);
  bad += !(LOOM_VERSION_MAJOR == 0 && !loom::version.empty() && v.sum() == 3);
  std::printf("loom %s consumer: %s\n", LOOM_VERSION_STRING, bad ? "FAIL" : "ok");
  return bad ? 1 : 0;
}
