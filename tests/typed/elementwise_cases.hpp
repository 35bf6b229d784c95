#pragma once

// Every element-wise op of include/loom/api/ops.hpp on every backend (backends.hpp): the
// floating unary ops, the arithmetic unary ops, the binary ops (with broadcasting against a
// row, a column and an outer product), the comparisons, where and cast. Each model returns
// one result per op, each checked against a double-precision loop here; all extents are
// dynamic, so one compiled model serves every size.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>

#include "backends.hpp"
#include "models.hpp"

namespace loom_typed {

// Element counts: 3 is all scalar tail (a CPU block and a CUDA vector pack are wider); 1003
// packs and a tail on both backends; 2^20 + 3 the CPU's threaded path and many CUDA blocks.
inline constexpr std::size_t elementwise_sizes[] = {3, 1003, (std::size_t(1) << 20) + 3};

// [M, N] shapes for the broadcasting models: one element, rows with a tail, about 2^20.
inline constexpr std::size_t broadcast_shapes[][2] = {{1, 1}, {7, 1003}, {1024, 1025}};

template <class T>
using vec_of = loom::tensor<T, extents<dyn>>;
template <class T>
using mat_of = loom::tensor<T, extents<dyn, dyn>>;
template <class T>
using vec_input = loom::input<T, extents<dyn>>;
template <class T>
using mat_input = loom::input<T, extents<dyn, dyn>>;

// Checks `got` against ref(i) within `tol` (in the label: backend, dtype, `what`).
template <class TestType, class Got, class Ref>
void check_against(
    const Got& got, const loom::shape& s, Ref&& ref, tolerance tol, const std::string& what) {
  LOOM_CHECK_REPORT(compare(got, reference_of(s, ref), tol, label<TestType>(what)));
}

// --- unary ----------------------------------------------------------------------------------

// x any sign, p positive (the domain of log, sqrt and rsqrt). Their extent is named alike, so
// that all nine results are one pass (one kernel) over both. The name is a tag at namespace
// scope: it is part of the graph type, which nvcc writes out as a kernel's template argument.
struct unary_length;
template <class T>
using unary_input = loom::input<T, extents<dyn>, loom::dims<unary_length>>;

// --- binary ---------------------------------------------------------------------------------

}  // namespace loom_typed

// The CPU's vectorised functions and the device's libm are a few ulps from the correctly
// rounded result; 1e-6 relative is 8 float ulps, 1e-14 leaves double kernels room for 45.
// Functions that cross zero in their domain (log at 1, sin and cos at their roots) are that
// accurate relative to their argument's scale, not to the tiny result there: an absolute term
// of about an ulp of 1. sigmoid's float form is accurate in absolute terms in its left tail
// (Eigen's logistic). gelu's 1 + erf cancels for x << 0, leaving erf's absolute error (about
// 2e-7 in f32) times |x| / 2: its bound is relative to |x| + 1 rather than to the result.
TEMPLATE_PRODUCT_TEST_CASE("typed: floating unary ops exp log sqrt rsqrt sin cos tanh sigmoid gelu",
                           "[typed][elementwise][unary]",
                           LOOM_TYPED_BACKENDS,
                           LOOM_TYPED_FLOATS) {
  using namespace loom_typed;
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  const tolerance plain = per_dtype<T>({1e-6, 0}, {1e-14, 0});
  const tolerance crosses_zero = per_dtype<T>({1e-6, 1e-7}, {1e-14, 1e-15});
  const tolerance sigmoid_tol = per_dtype<T>({1e-6, 2e-7}, {1e-14, 1e-16});
  const tolerance gelu_tol = per_dtype<T>({1e-6, 0}, {1e-14, 0});

  auto m = B::compile(floating_unary_model, unary_input<T>{}, unary_input<T>{});
  STATIC_REQUIRE(decltype(m)::kernel_count == 1);
  std::uint32_t seed = 10;
  for (std::size_t n : elementwise_sizes) {
    const loom::shape s = make_shape({n});
    // Past +-9 sigmoid's formulas change regime; exp stays far from overflow.
    const vec_of<T> x = random_tensor<T>(s, seed++, -12, 12);
    vec_of<T> p(s);
    loom_test::fill_log_uniform(p, seed++, 1e-3, 1e3);  // many binades, 1 among them
    const auto got = B::run(m, x, p);
    const std::string at_n = " n=" + std::to_string(n);
    const auto xi = [&](std::size_t i) {
      return at(x, i);
    };
    const auto pi = [&](std::size_t i) {
      return at(p, i);
    };
    check_against<TestType>(
        std::get<0>(got), s, [&](std::size_t i) { return std::exp(xi(i)); }, plain, "exp" + at_n);
    check_against<TestType>(
        std::get<1>(got),
        s,
        [&](std::size_t i) { return std::log(pi(i)); },
        crosses_zero,
        "log" + at_n);
    check_against<TestType>(
        std::get<2>(got), s, [&](std::size_t i) { return std::sqrt(pi(i)); }, plain, "sqrt" + at_n);
    check_against<TestType>(
        std::get<3>(got),
        s,
        [&](std::size_t i) { return 1 / std::sqrt(pi(i)); },
        plain,
        "rsqrt" + at_n);
    check_against<TestType>(
        std::get<4>(got),
        s,
        [&](std::size_t i) { return std::sin(xi(i)); },
        crosses_zero,
        "sin" + at_n);
    check_against<TestType>(
        std::get<5>(got),
        s,
        [&](std::size_t i) { return std::cos(xi(i)); },
        crosses_zero,
        "cos" + at_n);
    check_against<TestType>(
        std::get<6>(got), s, [&](std::size_t i) { return std::tanh(xi(i)); }, plain, "tanh" + at_n);
    check_against<TestType>(
        std::get<7>(got),
        s,
        [&](std::size_t i) { return 1 / (1 + std::exp(-xi(i))); },
        sigmoid_tol,
        "sigmoid" + at_n);
    reference gelu = reference_of(
        s, [&](std::size_t i) { return 0.5 * xi(i) * (1 + std::erf(xi(i) / std::sqrt(2.0))); });
    gelu.scale.resize(n);
    for (std::size_t i = 0; i < n; ++i) gelu.scale[i] = std::abs(xi(i)) + 1;
    LOOM_CHECK_REPORT(compare(std::get<8>(got), gelu, gelu_tol, label<TestType>("gelu" + at_n)));
  }
}

// neg, abs and relu are exact; square rounds once, which the reference does too (the double
// product of two floats is exact, rounding it to float is the float product), so all four
// are compared exactly. i32 values stay far from overflow.
TEMPLATE_PRODUCT_TEST_CASE("typed: arithmetic unary ops neg abs square relu",
                           "[typed][elementwise][unary]",
                           LOOM_TYPED_BACKENDS,
                           LOOM_TYPED_NUMBERS) {
  using namespace loom_typed;
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  auto m = B::compile(arithmetic_unary_model, vec_input<T>{});
  std::uint32_t seed = 20;
  for (std::size_t n : elementwise_sizes) {
    const loom::shape s = make_shape({n});
    const vec_of<T> x = random_tensor<T>(s, seed++, -1000, 1000);
    const auto got = B::run(m, x);
    const std::string at_n = " n=" + std::to_string(n);
    const auto xi = [&](std::size_t i) {
      return at(x, i);
    };
    check_against<TestType>(
        std::get<0>(got), s, [&](std::size_t i) { return -xi(i); }, {}, "neg" + at_n);
    check_against<TestType>(
        std::get<1>(got), s, [&](std::size_t i) { return std::abs(xi(i)); }, {}, "abs" + at_n);
    check_against<TestType>(
        std::get<2>(got),
        s,
        [&](std::size_t i) { return double(T(xi(i) * xi(i))); },
        {},
        "square" + at_n);
    check_against<TestType>(
        std::get<3>(got),
        s,
        [&](std::size_t i) { return std::max(xi(i), 0.0); },
        {},
        "relu" + at_n);
  }
}

// + - * of floats round once: within an ulp of the double result (exact for i32, whose values
// stay small). / and pow give floats for i32 (true division, as in PyTorch): / rounds once,
// pow is a few ulps (the CPU calls the C library's pow per lane; CUDA's powf is within 4).
// minimum and maximum are exact and propagate a NaN from either operand.
TEMPLATE_PRODUCT_TEST_CASE("typed: binary ops + - * / pow minimum maximum, broadcast",
                           "[typed][elementwise][binary][broadcast]",
                           LOOM_TYPED_BACKENDS,
                           LOOM_TYPED_NUMBERS) {
  using namespace loom_typed;
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  using F = loom::floating_t<T>;
  const tolerance rounded{2 * unit_roundoff<T>, 0};
  const tolerance divided{2 * unit_roundoff<F>, 0};
  const tolerance pow_tol = per_dtype<F>({1e-6, 0}, {1e-14, 0});
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();

  auto m = B::compile(
      binary_model, mat_input<T>{}, vec_input<T>{}, mat_input<T>{}, mat_input<T>{}, mat_input<T>{});
  std::uint32_t seed = 30;
  for (const auto& [rows, cols] : broadcast_shapes) {
    const loom::shape s = make_shape({rows, cols});
    const loom::shape column = make_shape({rows, 1});
    auto a = random_tensor<T, extents<dyn, dyn>>(s, seed++, -9, 9);
    const auto b = random_tensor<T>(make_shape({cols}), seed++, -9, 9);
    auto c = random_tensor<T, extents<dyn, dyn>>(column, seed++, -9, 9);
    const auto d = random_tensor<T, extents<dyn, dyn>>(s, seed++, -9, 9);
    const auto p = random_tensor<T, extents<dyn, dyn>>(column, seed++, 1, 4);
    if constexpr (std::is_floating_point_v<T>) {
      a.data()[0] = T(nan);
      c.data()[rows - 1] = T(nan);
    }
    const auto got = B::run(m, a, b, c, d, p);
    const std::string what = " " + s.to_string();
    // The operands' elements that broadcasting reads for flat index i of the [M, N] result.
    const auto ai = [&](std::size_t i) {
      return at(a, i);
    };
    const auto bi = [&](std::size_t i) {
      return at(b, i % cols);
    };
    const auto ci = [&](std::size_t i) {
      return at(c, i / cols);
    };
    const auto di = [&](std::size_t i) {
      return at(d, i);
    };
    const auto pi = [&](std::size_t i) {
      return at(p, i / cols);
    };
    const auto nan_or = [&](double x, double y, double r) {
      return std::isnan(x) || std::isnan(y) ? nan : r;
    };
    check_against<TestType>(
        std::get<0>(got), s, [&](std::size_t i) { return ai(i) + di(i); }, rounded, "a + d" + what);
    check_against<TestType>(
        std::get<1>(got),
        s,
        [&](std::size_t i) { return ai(i) - bi(i); },
        rounded,
        "a - row" + what);
    check_against<TestType>(
        std::get<2>(got),
        s,
        [&](std::size_t i) { return ai(i) * ci(i); },
        rounded,
        "a * column" + what);
    check_against<TestType>(
        std::get<3>(got), s, [&](std::size_t i) { return ai(i) / di(i); }, divided, "a / d" + what);
    check_against<TestType>(
        std::get<4>(got),
        s,
        [&](std::size_t i) { return std::pow(pi(i), bi(i)); },
        pow_tol,
        "pow(column, row)" + what);
    check_against<TestType>(
        std::get<5>(got),
        s,
        [&](std::size_t i) { return nan_or(ai(i), di(i), std::min(ai(i), di(i))); },
        {},
        "minimum(a, d)" + what);
    check_against<TestType>(
        std::get<6>(got),
        s,
        [&](std::size_t i) { return nan_or(ai(i), ci(i), std::max(ai(i), ci(i))); },
        {},
        "maximum(a, column)" + what);
    check_against<TestType>(
        std::get<7>(got),
        s,
        [&](std::size_t i) { return nan_or(ci(i), bi(i), std::min(ci(i), bi(i))); },
        {},
        "minimum(column, row)" + what);
    // The scalars adopt T (weak promotion); 2 a is exact, + 1 rounds once.
    check_against<TestType>(
        std::get<8>(got),
        s,
        [&](std::size_t i) { return 2 * ai(i) + 1; },
        rounded,
        "a * 2 + 1" + what);
  }
}

// Integer values (stored as T) so that equal operands are common; a NaN in each operand of
// the floating dtypes, which every comparison but != finds false. Exact.
TEMPLATE_PRODUCT_TEST_CASE("typed: comparisons < <= > >= == != against a row",
                           "[typed][elementwise][compare][broadcast]",
                           LOOM_TYPED_BACKENDS,
                           LOOM_TYPED_NUMBERS) {
  using namespace loom_typed;
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  auto m = B::compile(comparison_model, mat_input<T>{}, vec_input<T>{});
  std::uint32_t seed = 40;
  for (const auto& [rows, cols] : broadcast_shapes) {
    const loom::shape s = make_shape({rows, cols});
    mat_of<T> a(s);
    vec_of<T> b(make_shape({cols}));
    loom_test::fill_int(a, seed++, -3, 3);
    loom_test::fill_int(b, seed++, -3, 3);
    if constexpr (std::is_floating_point_v<T>) {
      a.data()[0] = std::numeric_limits<T>::quiet_NaN();
      b.data()[cols - 1] = std::numeric_limits<T>::quiet_NaN();
    }
    const auto got = B::run(m, a, b);
    const std::string what = " " + s.to_string();
    const auto ai = [&](std::size_t i) {
      return at(a, i);
    };
    const auto bi = [&](std::size_t i) {
      return at(b, i % cols);
    };
    // clang-format off
    check_against<TestType>(std::get<0>(got), s, [&](std::size_t i) { return double(ai(i) < bi(i)); }, {}, "<" + what);
    check_against<TestType>(std::get<1>(got), s, [&](std::size_t i) { return double(ai(i) <= bi(i)); }, {}, "<=" + what);
    check_against<TestType>(std::get<2>(got), s, [&](std::size_t i) { return double(ai(i) > bi(i)); }, {}, ">" + what);
    check_against<TestType>(std::get<3>(got), s, [&](std::size_t i) { return double(ai(i) >= bi(i)); }, {}, ">=" + what);
    check_against<TestType>(std::get<4>(got), s, [&](std::size_t i) { return double(ai(i) == bi(i)); }, {}, "==" + what);
    check_against<TestType>(std::get<5>(got), s, [&](std::size_t i) { return double(ai(i) != bi(i)); }, {}, "!=" + what);
    check_against<TestType>(std::get<6>(got), s, [&](std::size_t i) { return double(ai(i) >= 1); }, {}, ">= 1" + what);
    // clang-format on
  }
}

// where picks, so it is exact: on a bool input, on a comparison, and against a scalar.
TEMPLATE_PRODUCT_TEST_CASE("typed: where on a bool input, a comparison and a scalar",
                           "[typed][elementwise][where][broadcast]",
                           LOOM_TYPED_BACKENDS,
                           LOOM_TYPED_NUMBERS) {
  using namespace loom_typed;
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  auto m = B::compile(where_model, mat_input<bool>{}, mat_input<T>{}, vec_input<T>{});
  std::uint32_t seed = 50;
  for (const auto& [rows, cols] : broadcast_shapes) {
    const loom::shape s = make_shape({rows, cols});
    mat_of<bool> cond(s);
    loom_test::fill_bool(cond, seed++);
    const auto a = random_tensor<T, extents<dyn, dyn>>(s, seed++, -100, 100);
    const auto b = random_tensor<T>(make_shape({cols}), seed++, -100, 100);
    const auto got = B::run(m, cond, a, b);
    const std::string what = " " + s.to_string();
    const auto ci = [&](std::size_t i) {
      return bool(cond.data()[i]);
    };
    const auto ai = [&](std::size_t i) {
      return at(a, i);
    };
    const auto bi = [&](std::size_t i) {
      return at(b, i % cols);
    };
    check_against<TestType>(
        std::get<0>(got),
        s,
        [&](std::size_t i) { return ci(i) ? ai(i) : bi(i); },
        {},
        "where(c, a, row)" + what);
    check_against<TestType>(
        std::get<1>(got),
        s,
        [&](std::size_t i) { return ai(i) > bi(i) ? ai(i) : bi(i); },
        {},
        "where(a > row, a, row)" + what);
    check_against<TestType>(
        std::get<2>(got),
        s,
        [&](std::size_t i) { return ci(i) ? ai(i) : 0.0; },
        {},
        "where(c, a, 0)" + what);
  }
}

namespace loom_typed {

// cast<i32> of a floating value: truncated, saturated at the i32 range, NaN 0.
inline double cast_to_i32(double x) {
  if (std::isnan(x)) return 0;
  if (x <= -2147483648.0) return -2147483648.0;
  if (x >= 2147483648.0) return 2147483647.0;
  return std::trunc(x);
}

}  // namespace loom_typed

// Every conversion among T, i32 and bool; exact (cast<float> of a double rounds once, as the
// reference does). The first elements of x are the edges: NaN, beyond either end of the i32
// range, -0 and 0, a fraction of each sign.
TEMPLATE_PRODUCT_TEST_CASE("typed: cast between the dtypes, saturating to i32",
                           "[typed][elementwise][cast]",
                           LOOM_TYPED_BACKENDS,
                           LOOM_TYPED_FLOATS) {
  using namespace loom_typed;
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  auto m = B::compile(cast_model, vec_input<T>{}, vec_input<std::int32_t>{}, vec_input<bool>{});
  const T edges[] = {
      std::numeric_limits<T>::quiet_NaN(), T(3e9), T(-3e9), T(-0.0), T(0), T(2.75), T(-2.75)};
  std::uint32_t seed = 60;
  for (std::size_t n : {std::size_t(7), std::size_t(1003)}) {
    const loom::shape s = make_shape({n});
    auto x = random_tensor<T>(s, seed++, -1e3, 1e3);
    for (std::size_t k = 0; k < std::size(edges); ++k) x.data()[k] = edges[k];
    auto i = random_tensor<std::int32_t>(s, seed++, -3, 3);
    vec_of<bool> c(s);
    loom_test::fill_bool(c, seed++);
    const auto got = B::run(m, x, i, c);
    const std::string at_n = " n=" + std::to_string(n);
    const auto xi = [&](std::size_t k) {
      return at(x, k);
    };
    const auto ii = [&](std::size_t k) {
      return at(i, k);
    };
    const auto ci = [&](std::size_t k) {
      return at(c, k);
    };
    check_against<TestType>(
        std::get<0>(got),
        s,
        [&](std::size_t k) { return cast_to_i32(xi(k)); },
        {},
        "cast<i32>(x)" + at_n);
    check_against<TestType>(
        std::get<1>(got),
        s,
        [&](std::size_t k) { return double(xi(k) != 0); },
        {},
        "cast<bool>(x)" + at_n);
    check_against<TestType>(
        std::get<2>(got),
        s,
        [&](std::size_t k) { return double(float(xi(k))); },
        {},
        "cast<f32>(x)" + at_n);
    check_against<TestType>(
        std::get<3>(got), s, [&](std::size_t k) { return xi(k); }, {}, "cast<f64>(x)" + at_n);
    check_against<TestType>(
        std::get<4>(got), s, [&](std::size_t k) { return ii(k); }, {}, "cast<T>(i32)" + at_n);
    check_against<TestType>(
        std::get<5>(got), s, [&](std::size_t k) { return ci(k); }, {}, "cast<T>(bool)" + at_n);
    check_against<TestType>(
        std::get<6>(got), s, [&](std::size_t k) { return ci(k); }, {}, "cast<i32>(bool)" + at_n);
    check_against<TestType>(
        std::get<7>(got),
        s,
        [&](std::size_t k) { return double(ii(k) != 0); },
        {},
        "cast<bool>(i32)" + at_n);
  }
}
