// The half-precision dtypes loom::bf16 and loom::f16: their conversions from float against a
// nearest-value search in double, dtype promotion, a value equal to its stored copy,
// cross_entropy, mse_loss and mean, and gradients through them, against double-precision
// references computed from the same half-precision inputs. Ops compute in f32 and round where
// a value is stored, so the tolerances are stated in units of the storage type's unit
// roundoff `u` (bf16 2^-8, f16 2^-11). Element-wise ops, callables, reductions, softmax,
// layer norm, matmul and casts on them run on every backend: tests/typed/half_cases.hpp.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "test_support.hpp"

using loom::bf16;
using loom::dyn;
using loom::extents;
using loom::f16;
using namespace loom_test;

namespace {

template <class H>
constexpr double unit_roundoff = std::is_same_v<H, bf16> ? 0x1p-8 : 0x1p-11;

// The half-precision value nearest to x by exhaustive comparison in double: every finite
// value of the format (from its bits), ties to the one with an even significand, and values
// at or beyond the largest finite value plus half an ulp to infinity, as IEEE 754 rounds.
template <class H>
std::uint16_t nearest_bits(float x) {
  static const std::vector<std::uint16_t> finite = [] {
    std::vector<std::uint16_t> v;
    for (std::uint32_t b = 0; b < 0x10000; ++b) {
      const float f = float(H::from_bits(std::uint16_t(b)));
      if (std::isfinite(f) && !std::signbit(f)) v.push_back(std::uint16_t(b));
    }
    return v;  // ascending in value, as the bits of non-negative values are
  }();
  const double a = std::abs(double(x));
  const std::uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  const std::uint16_t largest = finite.back();
  const double top = double(float(H::from_bits(largest)));
  const double ulp_at_top = top - double(float(H::from_bits(std::uint16_t(largest - 1))));
  if (a >= top + ulp_at_top / 2)
    return sign | std::bit_cast<std::uint16_t>(std::numeric_limits<H>::infinity());
  // The first value not below a, and the one before it.
  std::size_t lo = 0, hi = finite.size() - 1;
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    if (double(float(H::from_bits(finite[mid]))) < a)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0) return sign | finite[0];
  const double up = double(float(H::from_bits(finite[lo])));
  const double down = double(float(H::from_bits(finite[lo - 1])));
  if (a - down < up - a) return sign | finite[lo - 1];
  if (up - a < a - down) return sign | finite[lo];
  return sign | ((finite[lo] & 1) == 0 ? finite[lo] : finite[lo - 1]);
}

template <class H>
void check_rounding_from_float() {
  std::mt19937 gen(7);
  std::uniform_int_distribution<std::uint32_t> bits;
  std::vector<float> xs = {0.f,
                           -0.f,
                           1.f,
                           65504.f,
                           65519.99f,
                           65520.f,
                           0x1p-24f,
                           0x1p-25f,
                           0x1.8p-25f,
                           0x1.8p-24f,
                           0x1p-14f,
                           0x1.ff8p-15f,
                           3.0e38f,
                           3.4028235e38f,
                           0x1.ff8p+127f,
                           1.00390625f,      // halfway between two bf16 values: ties to even
                           1.01171875f,      // the next halfway point, rounds up to even
                           1.00048828125f};  // halfway between two f16 values
  for (int k = 0; k < 200000; ++k) {
    const float f = std::bit_cast<float>(bits(gen));
    if (!std::isnormal(f)) continue;
    xs.push_back(f);
    // and values within f16's range, where its subnormals and ties lie
    xs.push_back(std::ldexp(std::abs(f) / std::pow(2.f, float(std::ilogb(f))), k % 45 - 28) *
                 (k % 2 ? 1.f : -1.f));
  }
  std::size_t wrong = 0;
  for (float x : xs) {
    const std::uint16_t got = H(x).bits, want = nearest_bits<H>(x);
    if (got != want && ++wrong < 5) FAIL_CHECK(x << ": got bits " << got << ", want " << want);
  }
  CHECK(wrong == 0);
  // NaN stays NaN, with its sign; infinities stay infinite.
  CHECK(std::isnan(float(H(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(std::signbit(float(H(-std::numeric_limits<float>::quiet_NaN()))));
  CHECK(float(H(-std::numeric_limits<float>::infinity())) ==
        -std::numeric_limits<float>::infinity());
}

}  // namespace

TEST_CASE("bf16 and f16 convert from float to the nearest value, ties to even", "[half]") {
  check_rounding_from_float<bf16>();
  check_rounding_from_float<f16>();
}

TEST_CASE("every bf16 and f16 value converts to float and back unchanged", "[half]") {
  std::size_t wrong = 0;
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const auto h = std::uint16_t(b);
    const float fb = float(bf16::from_bits(h)), ff = float(f16::from_bits(h));
    // bf16 is the top half of the float's bits.
    wrong += std::bit_cast<std::uint32_t>(fb) != (std::uint32_t(h) << 16);
    if (std::isnan(ff)) {
      wrong += !std::isnan(float(f16(ff)));
    } else {
      wrong += f16(ff).bits != h;
      // the value, from the format's definition
      const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
      const double v = e == 0 ? std::ldexp(m, -24) : std::ldexp(1024 + m, e - 25);
      wrong += (e == 31 ? !std::isinf(ff) : double(ff) != ((h & 0x8000) ? -v : v));
    }
    if (!std::isnan(fb)) wrong += bf16(fb).bits != h;
  }
  CHECK(wrong == 0);
  CHECK(float(std::numeric_limits<f16>::max()) == 65504.f);
  CHECK(float(std::numeric_limits<f16>::min()) == 0x1p-14f);
  CHECK(float(std::numeric_limits<f16>::epsilon()) == 0x1p-10f);
  CHECK(float(std::numeric_limits<bf16>::epsilon()) == 0x1p-7f);
  CHECK(float(std::numeric_limits<bf16>::max()) == 0x1.fep127f);
}

TEST_CASE("half-precision dtypes promote as in PyTorch", "[half]") {
  STATIC_REQUIRE(std::is_same_v<loom::promote_t<bf16, f16>, float>);
  STATIC_REQUIRE(std::is_same_v<loom::promote_t<bf16, float>, float>);
  STATIC_REQUIRE(std::is_same_v<loom::promote_t<f16, double>, double>);
  STATIC_REQUIRE(std::is_same_v<loom::promote_t<std::int32_t, bf16>, bf16>);
  STATIC_REQUIRE(std::is_same_v<loom::promote_t<bool, f16>, f16>);
  loom::tensor<bf16, extents<4>> b;
  loom::tensor<std::int32_t, extents<4>> i;
  b.fill(bf16(1.5f));
  i.fill(3);
  const auto scaled = b * 2.0;  // a C++ scalar adopts the tensor's dtype
  const auto mixed = i + b;
  const auto e = loom::exp(b);
  STATIC_REQUIRE(std::is_same_v<decltype(scaled)::value_type, bf16>);
  STATIC_REQUIRE(std::is_same_v<decltype(mixed)::value_type, bf16>);
  STATIC_REQUIRE(std::is_same_v<decltype(e)::value_type, bf16>);
  CHECK(float(scaled(2)) == 3.f);
  CHECK(float(mixed(1)) == 4.5f);
  CHECK(loom::dtype_name<bf16>() == "bf16");
  CHECK(loom::dtype_name<f16>() == "f16");
}

TEMPLATE_TEST_CASE("a value equals its stored copy: max's one-hot, and its gradient",
                   "[half][grad]",
                   bf16,
                   f16) {
  // p == max(p) compares p, computed in a fused pass, with the max that a reduction stored:
  // both are rounded to H, so the row's winner compares equal (the one-hot of max's gradient
  // rule too), compiled as in eager code.
  using H = TestType;
  loom::tensor<H, extents<4, 9>> x, y;
  fill_uniform(x, 31, -2.0, 2.0);
  fill_uniform(y, 32, -2.0, 2.0);
  const auto one_hot = [](const auto& a, const auto& b) {
    const auto p = a * b;
    return loom::cast<std::int32_t>(p == loom::max(p, loom::axes<1>, loom::keepdims));
  };
  const auto compiled = loom::compile(one_hot, x, y)(x, y);
  const auto eager = one_hot(x, y);
  loom::tensor<float, extents<4, 9>> a, b;
  std::copy(x.begin(), x.end(), a.begin());
  std::copy(y.begin(), y.end(), b.begin());
  const auto ga = loom::compile(loom::grad([](const auto& u, const auto& v) {
                                  return loom::sum(loom::cast<float>(loom::max(
                                      loom::cast<H>(u) * loom::cast<H>(v), loom::axes<1>)));
                                }),
                                a,
                                b)(a, b);
  for (std::size_t r = 0; r < 4; ++r) {
    // The products rounded to H; ties (likely at 8 or 11 bits) share the gradient evenly.
    float p[9], best = -1e30f;
    for (std::size_t c = 0; c < 9; ++c)
      best = std::max(best, p[c] = float(H(float(x(r, c)) * float(y(r, c)))));
    const int ties = int(std::count(p, p + 9, best));
    for (std::size_t c = 0; c < 9; ++c) {
      INFO("row " << r << ", column " << c);
      CHECK(compiled(r, c) == (p[c] == best));
      CHECK(eager(r, c) == (p[c] == best));
      CHECK(ga(r, c) == (p[c] == best ? float(H(float(y(r, c)) / float(ties))) : 0.f));
    }
  }
}

TEST_CASE("cross_entropy, mse_loss and mean on half precision, with their gradients",
          "[half][grad]") {
  // Probability targets and class indices on bf16 logits (the class gradient scatters in
  // f32); the mean's gradient over 70,000 f16 elements, a count f16 cannot hold.
  loom::tensor<float, extents<3, 5>> logits;
  loom::tensor<bf16, extents<3, 5>> target;
  loom::tensor<std::int32_t, extents<3>> classes;
  fill_normal(logits, 41, 0.0, 1.0);
  fill_uniform(target, 42, 0.0, 0.4);
  classes(0) = 4, classes(1) = 0, classes(2) = 2;
  const auto lb = [&](std::size_t r, std::size_t c) {
    return double(float(bf16(logits(r, c))));
  };
  double with_target = 0, with_classes = 0;
  double grad_classes[3][5];
  for (std::size_t r = 0; r < 3; ++r) {
    double m = -1e300, sum = 0;
    for (std::size_t c = 0; c < 5; ++c) m = std::max(m, lb(r, c));
    for (std::size_t c = 0; c < 5; ++c) sum += std::exp(lb(r, c) - m);
    for (std::size_t c = 0; c < 5; ++c) {
      const double log_p = lb(r, c) - m - std::log(sum);
      with_target -= double(float(target(r, c))) * log_p / 3;
      if (std::size_t(classes(r)) == c) with_classes -= log_p / 3;
      grad_classes[r][c] = (std::exp(log_p) - (std::size_t(classes(r)) == c)) / 3;
    }
  }
  const loom::tensor<bf16, extents<3, 5>> l16 = loom::cast<bf16>(logits);
  const double u = unit_roundoff<bf16>;
  CHECK(std::abs(float(loom::cross_entropy(l16, target)()) - with_target) <=
        u * std::abs(with_target) + 1e-6);
  CHECK(std::abs(float(loom::cross_entropy(l16, classes)()) - with_classes) <=
        u * std::abs(with_classes) + 1e-6);
  const auto g =
      loom::compile(loom::grad([](const auto& l, const auto& k) {
                      return loom::cast<float>(loom::cross_entropy(loom::cast<bf16>(l), k));
                    }),
                    logits,
                    classes)(logits, classes);
  // Each gradient element is rounded to bf16 once (u) and carries the forward pass's
  // roundings of the softmax (u of it).
  LOOM_CHECK_REPORT(compare_with(
      g,
      [&](std::size_t i) { return grad_classes[i / 5][i % 5]; },
      tolerance{2 * u, 1e-6},
      "cross_entropy's gradient"));

  loom::tensor<float, extents<dyn>> big(70000);
  fill_uniform(big, 43, -1.0, 1.0);
  const auto mean_grad = loom::compile(
      loom::grad([](const auto& v) { return loom::cast<float>(loom::mean(loom::cast<f16>(v))); }),
      big)(big);
  const float want = float(f16(1.f / 70000));
  std::size_t wrong = 0;
  for (float e : mean_grad) wrong += e != want;
  CHECK(wrong == 0);
  CHECK(want > 0.f);

  loom::bf16 acc(0.f);
  for (int k = 0; k < 3; ++k) acc += 0.1f;  // computes in f32, rounds each sum to bf16
  acc *= 2.f;
  CHECK(float(acc) == float(bf16(float(bf16(float(bf16(0.1f)) + 0.1f)) + 0.1f)) * 2.f);
}

TEMPLATE_TEST_CASE("gradients flow through half-precision values", "[half][grad]", bf16, f16) {
  // Mixed precision: f32 parameters cast to H, a matmul, softmax, gelu, layer norm and
  // sigmoid in H, the loss summed in f32. The reference is the same math in double at the
  // inputs rounded to H, differentiated by central differences; loom's gradients carry the
  // roundings of H's intermediate values, so each is held within 8u of |want| plus the root
  // mean square of its gradient's elements (measured: 1.4u for bf16, 1.1u for f16).
  using H = TestType;
  const double u = unit_roundoff<H>;
  constexpr int B = 3, K = 5, N = 8;
  loom::tensor<float, extents<B, K>> x;
  loom::tensor<float, extents<K, N>> w;
  loom::tensor<float, extents<N>> g, c;
  fill_normal(x, 21, 0.0, 1.0);
  fill_normal(w, 22, 0.0, 0.5);
  fill_normal(g, 23, 1.0, 0.2);
  fill_normal(c, 24, 0.0, 0.3);
  const auto loss = [](const auto& xx, const auto& ww, const auto& gg, const auto& cc) {
    const auto h = loom::matmul(loom::cast<H>(xx), loom::cast<H>(ww));
    const auto y =
        loom::softmax(h) * loom::gelu(h) +
        loom::layer_norm(h, loom::cast<H>(gg), loom::cast<H>(cc), 1e-5) * loom::sigmoid(h);
    return loom::sum(loom::cast<float>(y) * loom::cast<float>(y));
  };
  const auto [gx, gw, gg, gc] =
      loom::compile(loom::grad(loss, loom::wrt<0, 1, 2, 3>), x, w, g, c)(x, w, g, c);
  STATIC_REQUIRE(std::is_same_v<typename decltype(gx)::value_type, float>);
  const auto rounded = [](const auto& t) {
    std::vector<double> v;
    for (float e : t) v.push_back(double(float(H(e))));
    return v;
  };
  std::vector<double> X = rounded(x), W = rounded(w), G = rounded(g), C = rounded(c);
  const auto f = [&] {
    double s = 0;
    for (int b = 0; b < B; ++b) {
      double h[N], m = -1e300, sum = 0, mean = 0, var = 0;
      for (int n = 0; n < N; ++n) {
        h[n] = 0;
        for (int k = 0; k < K; ++k) h[n] += X[b * K + k] * W[k * N + n];
        m = std::max(m, h[n]);
        mean += h[n] / N;
      }
      for (int n = 0; n < N; ++n) {
        sum += std::exp(h[n] - m);
        var += (h[n] - mean) * (h[n] - mean) / N;
      }
      for (int n = 0; n < N; ++n) {
        const double gelu = 0.5 * h[n] * (1 + std::erf(h[n] / std::sqrt(2.0)));
        const double norm = (h[n] - mean) / std::sqrt(var + 1e-5) * G[n] + C[n];
        const double y = std::exp(h[n] - m) / sum * gelu + norm / (1 + std::exp(-h[n]));
        s += y * y;
      }
    }
    return s;
  };
  const auto check = [&](std::vector<double>& p, const auto& got, const char* what) {
    std::vector<double> want(p.size());
    double rms = 0;
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double step = 1e-6 * std::max(1.0, std::abs(p[i]));
      p[i] += step;
      const double up = f();
      p[i] -= 2 * step;
      const double down = f();
      p[i] += step;
      want[i] = (up - down) / (2 * step);
      rms += want[i] * want[i] / double(p.size());
    }
    rms = std::sqrt(rms);
    LOOM_CHECK_REPORT(compare_elements(
        got,
        [&](std::size_t i) { return want[i]; },
        [&](std::size_t, double v) { return 8 * u * (std::abs(v) + rms); },
        what));
  };
  check(X, gx, "x's gradient");
  check(W, gw, "w's gradient");
  check(G, gg, "gamma's gradient");
  check(C, gc, "beta's gradient");
}
