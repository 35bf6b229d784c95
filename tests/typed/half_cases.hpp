#pragma once

// The half-precision dtypes loom::bf16 and loom::f16 on every backend (backends.hpp): loads
// and stores of every bit pattern, element-wise ops, an element-wise callable, reductions,
// softmax and layer norm, matmul with an epilogue, and casts, against double-precision
// references computed from the same half-precision inputs. Ops compute in f32 and round
// where a value is stored, so the tolerances are stated in units of the storage type's unit
// roundoff `u` (bf16 2^-8, f16 2^-11). On the CPU each case also holds eager code to the
// same bounds (bit for bit where it says so); tests/unit/half_precision_test.cpp has the
// conversions themselves, promotion and gradients.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <tuple>
#include <type_traits>
#include <vector>

#include "backends.hpp"

namespace loom_typed {

using loom_test::compare_scaled;
using loom_test::compare_with;

template <class TestType>
inline constexpr bool on_cpu = std::is_same_v<typename TestType::backend, cpu_backend>;

// Element-wise callables: one generic, one that declares an f32 result. Named classes at
// namespace scope, with a device form, as the CUDA backend asks of an element-wise F.
struct softsign_any {
  template <class T>
  LOOM_HD T operator()(T x) const {
    static_assert(std::is_same_v<T, float>, "half-precision values reach F as floats");
    return x / (T(1) + (x < T(0) ? -x : x));
  }
};
struct thrice_plus_one {
  using output_type = float;
  LOOM_HD float operator()(float x) const { return x * 3.f + 1.f; }
};

}  // namespace loom_typed

TEMPLATE_PRODUCT_TEST_CASE("half: fused passes load and store every bit pattern exactly",
                           "[typed][half]",
                           LOOM_TYPED_BACKENDS,
                           LOOM_TYPED_HALVES) {
  using namespace loom_typed;
  // Packs and row ends must give the same bits: a model that passes every value through, and
  // one whose products (exact in f32: at most 22 significant bits) are rounded once on the
  // store, over all 65,536 bit patterns.
  using H = typename TestType::value_type;
  using B = typename TestType::backend;
  loom::tensor<H, extents<dyn>> a(0x10000 + 7), b(0x10000 + 7);
  std::mt19937 gen(11);
  for (std::size_t k = 0; k < a.size(); ++k) {
    a.data()[k] = H::from_bits(std::uint16_t(k));
    b.data()[k] = H::from_bits(std::uint16_t(gen()));
  }
  const auto model = B::compile(
      [](const auto& x, const auto& y) { return std::make_tuple(x * 1.f, x * y); }, a, b);
  const auto [same, product] = B::run(model, a, b);
  std::size_t wrong = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    const float x = float(a.data()[k]), p = x * float(b.data()[k]);
    wrong += std::isnan(x) ? !std::isnan(float(same.data()[k]))
                           : same.data()[k].bits != a.data()[k].bits;
    wrong +=
        std::isnan(p) ? !std::isnan(float(product.data()[k])) : product.data()[k].bits != H(p).bits;
  }
  CHECK(wrong == 0);
}

TEMPLATE_PRODUCT_TEST_CASE("half: element-wise ops compute in f32 and round each result",
                           "[typed][half]",
                           LOOM_TYPED_BACKENDS,
                           LOOM_TYPED_HALVES) {
  using namespace loom_typed;
  using H = typename TestType::value_type;
  using B = typename TestType::backend;
  const double u = unit_roundoff<H>;
  const auto f = [](const auto& a, const auto& b) {
    return loom::exp(a) * b + a / b;
  };
  for (std::size_t n : {std::size_t(1), std::size_t(63), std::size_t(65), std::size_t(70001)}) {
    loom::tensor<H, extents<dyn>> a(n), b(n);
    loom_test::fill_uniform(a, 1, -2.0, 2.0);
    loom_test::fill_uniform(b, 2, 0.5, 3.0);
    const auto want = [&](std::size_t k) {
      const double x = double(float(a.data()[k])), y = double(float(b.data()[k]));
      return std::exp(x) * y + x / y;
    };
    const auto scale = [&](std::size_t k) {
      const double x = double(float(a.data()[k])), y = double(float(b.data()[k]));
      return std::exp(x) * y + std::abs(x / y);
    };
    // Each of the four ops rounds its result (u of it), fused or eager, and on the CPU both
    // give the same bits.
    const auto fused = B::run(B::compile(f, a, b), a, b);
    STATIC_REQUIRE(std::is_same_v<typename decltype(fused)::value_type, H>);
    LOOM_CHECK_REPORT(
        compare_scaled(fused, want, scale, tolerance{4 * u, 0}, label<TestType>("fused")));
    if constexpr (on_cpu<TestType>) {
      const auto eager = f(a, b);
      std::size_t differ = 0;
      for (std::size_t k = 0; k < n; ++k) differ += fused.data()[k].bits != eager.data()[k].bits;
      CHECK(differ == 0);
    }
  }
}

TEMPLATE_PRODUCT_TEST_CASE("half: an element-wise callable sees floats, its result rounded",
                           "[typed][half][opaque]",
                           LOOM_TYPED_BACKENDS,
                           LOOM_TYPED_HALVES) {
  using namespace loom_typed;
  using H = typename TestType::value_type;
  using B = typename TestType::backend;
  const auto f = [](const auto& x) {
    return std::make_tuple(loom::allow_in_graph<softsign_any>{}(x)*2.f,
                           loom::allow_in_graph<thrice_plus_one>{}(x));
  };
  for (std::size_t n : {std::size_t(63), std::size_t(70001)}) {
    loom::tensor<H, extents<dyn>> x(n);
    loom_test::fill_uniform(x, 4, -6.0, 6.0);
    const auto [a, b] = B::run(B::compile(f, x), x);
    STATIC_REQUIRE(std::is_same_v<typename std::remove_cvref_t<decltype(a)>::value_type, H>);
    STATIC_REQUIRE(std::is_same_v<typename std::remove_cvref_t<decltype(b)>::value_type, float>);
    // F computes in float on the widened value: a division and an addition, correctly
    // rounded on both backends, and `x * 3 + 1`, whose product is exact (x has at most 11
    // significant bits), so a fused multiply-add gives the same float. Its H result is
    // rounded, then `* 2.f` rounds again: the same bits on every backend, compiled and eager.
    std::size_t wrong = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const float v = float(x.data()[k]);
      const H want_a = H(float(H(softsign_any{}(v))) * 2.f);
      const float want_b = v * 3.f + 1.f;
      wrong += a.data()[k].bits != want_a.bits || b.data()[k] != want_b;
    }
    if constexpr (on_cpu<TestType>) {
      const auto [eager_a, eager_b] = f(x);
      for (std::size_t k = 0; k < n; ++k)
        wrong += eager_a.data()[k].bits != a.data()[k].bits || eager_b.data()[k] != b.data()[k];
    }
    CHECK(wrong == 0);
  }
}

TEMPLATE_PRODUCT_TEST_CASE("half: reductions fold in f32",
                           "[typed][half]",
                           LOOM_TYPED_BACKENDS,
                           LOOM_TYPED_HALVES) {
  using namespace loom_typed;
  using H = typename TestType::value_type;
  using B = typename TestType::backend;
  const double u = unit_roundoff<H>;
  loom::tensor<H, extents<dyn, 3000>> x(5);
  loom_test::fill_uniform(x, 3, -1.0, 1.0);
  const auto model = B::compile(
      [](const auto& v) {
        return std::make_tuple(loom::sum(v, loom::axes<1>),
                               loom::max(v, loom::axes<1>),
                               loom::argmax(v, loom::axes<1>),
                               loom::mean(v * v, loom::axes<1>));
      },
      x);
  const auto [sum, max, argmax, mean_square] = B::run(model, x);
  const auto at = [&](std::size_t r, std::size_t c) {
    return double(float(x(r, c)));
  };
  std::vector<double> s(5), m(5, -1e300), magnitude(5), squares(5);
  std::vector<std::int32_t> where(5);
  for (std::size_t r = 0; r < 5; ++r)
    for (std::size_t c = 0; c < 3000; ++c) {
      s[r] += at(r, c);
      magnitude[r] += std::abs(at(r, c));
      squares[r] += at(r, c) * at(r, c) / 3000;
      if (at(r, c) > m[r]) m[r] = at(r, c), where[r] = std::int32_t(c);
    }
  // The sum's one rounding into H (u of it) over an f32 fold of 3000 terms (well within
  // 2^-16 of their magnitudes); a fold in H itself would be off by about 3000 u / 2 of them.
  for (std::size_t r = 0; r < 5; ++r) {
    CHECK(std::abs(double(float(sum(r))) - s[r]) <= u * std::abs(s[r]) + 0x1p-16 * magnitude[r]);
    CHECK(double(float(max(r))) == m[r]);
    CHECK(argmax(r) == where[r]);
  }
  LOOM_CHECK_REPORT(compare_with(
      mean_square,
      [&](std::size_t r) { return squares[r]; },
      tolerance{u + 0x1p-16, 0},
      label<TestType>("mean")));
}

TEMPLATE_PRODUCT_TEST_CASE("half: softmax and layer_norm",
                           "[typed][half]",
                           LOOM_TYPED_BACKENDS,
                           LOOM_TYPED_HALVES) {
  using namespace loom_typed;
  using H = typename TestType::value_type;
  using B = typename TestType::backend;
  const double u = unit_roundoff<H>;
  // Rows of 256: on the GPU a warp keeps each row in registers, in packs of eight.
  constexpr std::size_t cols = 256;
  loom::tensor<H, extents<dyn, cols>> x(7);
  loom::tensor<H, extents<cols>> g, b;
  loom_test::fill_normal(x, 4, 0.0, 1.0);
  loom_test::fill_uniform(g, 5, 0.5, 1.5);
  loom_test::fill_uniform(b, 6, -0.5, 0.5);
  const auto at = [&](std::size_t r, std::size_t c) {
    return double(float(x(r, c)));
  };
  std::vector<double> soft(7 * cols), norm(7 * cols), norm_scale(7 * cols);
  for (std::size_t r = 0; r < 7; ++r) {
    double m = -1e300, sum = 0, mean = 0, var = 0;
    for (std::size_t c = 0; c < cols; ++c)
      m = std::max(m, at(r, c)), mean += at(r, c) / double(cols);
    for (std::size_t c = 0; c < cols; ++c) {
      sum += std::exp(at(r, c) - m);
      var += (at(r, c) - mean) * (at(r, c) - mean) / double(cols);
    }
    for (std::size_t c = 0; c < cols; ++c) {
      soft[r * cols + c] = std::exp(at(r, c) - m) / sum;
      const double xhat = (at(r, c) - mean) / std::sqrt(var + 1e-5);
      norm[r * cols + c] = xhat * double(float(g(c))) + double(float(b(c)));
      norm_scale[r * cols + c] =
          std::abs(xhat * double(float(g(c)))) + std::abs(double(float(b(c)))) + 1;
    }
  }
  const auto f = [](const auto& v, const auto& gamma, const auto& beta) {
    return std::make_tuple(loom::softmax(v), loom::layer_norm(v, gamma, beta, 1e-5));
  };
  const auto check = [&](const auto& s, const auto& l, const char* how) {
    // A composite computes in f32 (its rows' max, sum, mean and variance included) and
    // rounds its result once: u of it, over f32 errors below 2^-18.
    LOOM_CHECK_REPORT(compare_with(
        s,
        [&](std::size_t i) { return soft[i]; },
        tolerance{u + 0x1p-18, 0},
        label<TestType>(std::string(how) + " softmax")));
    LOOM_CHECK_REPORT(compare_scaled(
        l,
        [&](std::size_t i) { return norm[i]; },
        [&](std::size_t i) { return norm_scale[i]; },
        tolerance{u + 0x1p-18, 0},
        label<TestType>(std::string(how) + " layer_norm")));
  };
  const auto [fs, fl] = B::run(B::compile(f, x, g, b), x, g, b);
  check(fs, fl, "fused");
  if constexpr (on_cpu<TestType>) {
    const auto [es, el] = f(x, g, b);
    check(es, el, "eager");
  }
}

TEMPLATE_PRODUCT_TEST_CASE("half: matmul accumulates in f32",
                           "[typed][half]",
                           LOOM_TYPED_BACKENDS,
                           LOOM_TYPED_HALVES) {
  using namespace loom_typed;
  using H = typename TestType::value_type;
  using B = typename TestType::backend;
  const double u = unit_roundoff<H>;
  loom::tensor<H, extents<2, dyn, 70>> a(33);
  loom::tensor<H, extents<70, 19>> w;
  loom::tensor<H, extents<19>> bias;
  loom_test::fill_uniform(a, 7, -1.0, 1.0);
  loom_test::fill_uniform(w, 8, -1.0, 1.0);
  loom_test::fill_uniform(bias, 9, -1.0, 1.0);
  const auto layer = [](const auto& x, const auto& m, const auto& c) {
    return loom::relu(loom::matmul(x, m) + c);
  };
  const auto want = [&](std::size_t i) {
    const std::size_t row = i / 19, col = i % 19;
    double s = double(float(bias(col)));
    for (std::size_t k = 0; k < 70; ++k)
      s += double(float(a.data()[row * 70 + k])) * double(float(w(k, col)));
    return std::max(s, 0.0);
  };
  const auto scale = [&](std::size_t i) {
    const std::size_t row = i / 19, col = i % 19;
    double s = std::abs(double(float(bias(col))));
    for (std::size_t k = 0; k < 70; ++k)
      s += std::abs(double(float(a.data()[row * 70 + k])) * double(float(w(k, col))));
    return s;
  };
  // The product is rounded into H once (u), then the bias added and rounded again (u).
  const tolerance tol{2 * u + 0x1p-18, 0};
  LOOM_CHECK_REPORT(compare_scaled(B::run(B::compile(layer, a, w, bias), a, w, bias),
                                   want,
                                   scale,
                                   tol,
                                   label<TestType>("fused")));
  if constexpr (on_cpu<TestType>)
    LOOM_CHECK_REPORT(compare_scaled(layer(a, w, bias), want, scale, tol, "eager"));
}

// float: the dtype the casts start from.
TEMPLATE_PRODUCT_TEST_CASE("half: casts between every dtype and half precision",
                           "[typed][half]",
                           LOOM_TYPED_BACKENDS,
                           (float)) {
  using namespace loom_typed;
  using B = typename TestType::backend;
  using loom::bf16;
  using loom::f16;
  loom::tensor<float, extents<9>> x;
  const float values[9] = {1.f / 3,
                           -2.75f,
                           70000.f,
                           -1e-30f,
                           3e38f,
                           0.f,
                           std::numeric_limits<float>::quiet_NaN(),
                           -std::numeric_limits<float>::infinity(),
                           65519.f};
  std::copy(values, values + 9, x.begin());
  const auto model = B::compile(
      [](const auto& v) {
        const auto b = loom::cast<bf16>(v);
        const auto h = loom::cast<f16>(v);
        return std::make_tuple(b,
                               h,
                               loom::cast<std::int32_t>(b),
                               loom::cast<bool>(h),
                               loom::cast<double>(h),
                               loom::cast<f16>(b),
                               loom::cast<bf16>(loom::cast<std::int32_t>(v * 0.f + 1000.f)));
      },
      x);
  const auto [b, h, bi, hb, hd, bh, ib] = B::run(model, x);
  for (std::size_t k = 0; k < 9; ++k) {
    INFO("element " << k << " = " << values[k]);
    CHECK(b(k).bits == bf16(values[k]).bits);
    CHECK((std::isnan(values[k]) ? std::isnan(float(h(k))) : h(k).bits == f16(values[k]).bits));
    CHECK(hb(k) == (float(h(k)) != 0.f));
    CHECK((std::isnan(values[k]) ? std::isnan(hd(k)) : hd(k) == double(float(h(k)))));
    CHECK((std::isnan(values[k]) ? std::isnan(float(bh(k))) : bh(k).bits == f16(float(b(k))).bits));
  }
  // f32 to f16: 70000 overflows to infinity, 65519 rounds to the largest value, 65504.
  CHECK(std::isinf(float(h(2))));
  CHECK(float(h(8)) == 65504.f);
  CHECK(float(b(2)) == 70144.f);  // bf16 keeps f32's range: 70000 to 8 significant bits
  // bf16 to i32 saturates and takes NaN to 0, as every float-to-integer cast does.
  const std::int32_t ints[9] = {0,
                                -2,
                                70144,
                                0,
                                std::numeric_limits<std::int32_t>::max(),
                                0,
                                0,
                                std::numeric_limits<std::int32_t>::min(),
                                65536};
  for (std::size_t k = 0; k < 9; ++k) CHECK(bi(k) == ints[k]);
  CHECK(float(ib(4)) == 1000.f);
}
