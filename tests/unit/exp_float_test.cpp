// float exp in SIMD blocks (exp_float): every 1000th float from -110 to 90 against the
// double-precision exp, in units of the float result's last place, and the values where it
// clamps, overflows, underflows and propagates NaN, in blocks and in the scalar tail. The same
// checks hold sigmoid, which goes through it.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "test_support.hpp"

using loom_test::dinf;
using loom_test::vec;

namespace {

// |got - want| in ulps of the float nearest to want (the distance to the next float up, or
// the smallest subnormal where the result is subnormal).
double ulps(float got, double want) {
  const float w = static_cast<float>(want);
  const double ulp = std::max<double>(std::nextafter(w, std::numeric_limits<float>::infinity()) - w,
                                      std::numeric_limits<float>::denorm_min());
  return std::abs(double(got) - want) / ulp;
}

// Every `stride`-th float from lo to hi, by bit pattern (so every binade is sampled alike),
// padded with `lo` to a multiple of 64 plus 5 so that the end runs in the scalar tail.
vec<float> float_grid(float lo, float hi, std::uint32_t stride) {
  std::vector<float> values;
  for (float x = lo; x < hi;) {
    values.push_back(x);
    // Walks the bit pattern down for negatives, up for positives, crossing at -0.
    const auto bits = std::bit_cast<std::uint32_t>(x);
    if (x < 0 || (x == 0 && std::signbit(x)))
      x = bits - 0x80000000u <= stride ? 0.f : std::bit_cast<float>(bits - stride);
    else
      x = std::bit_cast<float>(bits + stride);
  }
  while (values.size() % 64 != 5) values.push_back(lo);
  vec<float> t(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) t(i) = values[i];
  return t;
}

}  // namespace

TEST_CASE("float exp is within 1.26 ulp of the double exp over its whole range", "[ops][exp]") {
  vec<float> x = float_grid(-110.f, 90.f, 1000);
  // The worst arguments of a sweep over every float (1.259 and 1.232 ulp), which the grid
  // does not reach: the guide's bound is that sweep's.
  x(0) = -0x1.1c1e4cp+6f;
  x(1) = 0x1.f5cbbp+3f;
  REQUIRE(x.size() > 2'000'000);
  const vec<float> e = loom::exp(x);
  double worst = 0;
  float worst_at = 0;
  std::size_t wrong_edges = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double want = std::exp(double(x(i)));
    const float rounded = static_cast<float>(want);
    // Past log(FLT_MAX) the result is inf; below -103.97 it rounds to 0: exactly, both.
    if (std::isinf(rounded) || rounded == 0) {
      wrong_edges += e(i) != rounded;
      continue;
    }
    const double u = ulps(e(i), want);
    if (u > worst) worst = u, worst_at = x(i);
  }
  INFO("worst " << worst << " ulp at x = " << worst_at);
  CHECK(wrong_edges == 0);
  // Subnormal results (x below -87.3) are rounded once, by the scaling; without AVX-512,
  // Eigen's exp computes those through a normal intermediate and may be further off.
#ifdef __AVX512F__
  CHECK(worst <= 1.26);
#else
  CHECK(worst <= 4);
#endif
}

TEST_CASE("float exp at its edges, in blocks and in the scalar tail", "[ops][exp][special]") {
  const float max_arg = 88.7228317f;  // the largest float x whose exp(x) rounds to a finite float
  const std::vector<std::pair<float, double>> edges{
      {dinf, dinf},
      {-dinf, 0.0},
      {std::numeric_limits<float>::quiet_NaN(), std::nan("")},
      {0.f, 1.0},
      {-0.f, 1.0},
      {max_arg, std::exp(double(max_arg))},
      {std::nextafter(max_arg, 100.f), dinf},
      {88.8f, dinf},
      {1000.f, dinf},
      {-103.9f, std::exp(-103.9)},  // the smallest subnormal
      {-104.f, 0.0},
      {-1000.f, 0.0},
      {std::numeric_limits<float>::max(), dinf},
      {-std::numeric_limits<float>::max(), 0.0},
  };
  vec<float> x(64 + edges.size());
  for (std::size_t i = 0; i < x.size(); ++i) x(i) = edges[i % edges.size()].first;
  const vec<float> e = loom::exp(x);
  const vec<float> s = loom::sigmoid(-x);  // 1 / (1 + exp(x))
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double want = edges[i % edges.size()].second;
    INFO("x = " << x(i) << " at index " << i << (i < 64 ? " (block)" : " (scalar tail)") << ": exp "
                << e(i) << ", sigmoid(-x) " << s(i));
    CHECK(loom_test::close(e(i), want, {1.5 * std::numeric_limits<float>::epsilon(), 1e-45}));
    CHECK(
        loom_test::close(s(i), 1 / (1 + want), {2 * std::numeric_limits<float>::epsilon(), 1e-45}));
  }
}
