// Element-wise unary ops and casts: values against a double-precision reference loop, IEEE
// special values in both the SIMD blocks and the scalar tail, dtype rules, and compiled
// (fused) models against eager execution.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "test_support.hpp"

using loom::dyn;
using loom_test::compare_same;
using loom_test::compare_scaled;
using loom_test::compare_with;
using loom_test::dinf;
using loom_test::dnan;
using loom_test::tolerance;
using loom_test::vec;

namespace {

constexpr double eps_f = std::numeric_limits<float>::epsilon();   // 1 ulp at 1.0, 2^-23
constexpr double eps_d = std::numeric_limits<double>::epsilon();  // 2^-52

// Tolerances for one op, per dtype.
struct tolerances {
  tolerance f32;
  tolerance f64;
};

// Ops whose result is exact in any dtype (sign changes, comparisons with zero).
constexpr tolerances exact{{0, 0}, {0, 0}};
// One correctly rounded multiply: within half an ulp of the double reference; allow one.
constexpr tolerances one_rounding{{eps_f, 0}, {eps_d, 0}};
// Vectorised transcendental functions (Eigen's packet math; the scalar tail uses libm) are a
// few ulps from the correctly rounded result: ~1e-6 relative is 8 float ulps. Double SIMD
// kernels stay within ~2 ulps; 1e-14 relative leaves room for 45.
constexpr tolerances transcendental{{1e-6, 0}, {1e-14, 0}};
// Functions that cross zero inside their domain (log at 1, sin and cos at their roots) are
// accurate to a few ulps of the *argument* scale there, not of the tiny result: add an
// absolute term of about one ulp of 1.0.
constexpr tolerances crosses_zero{{1e-6, 1e-7}, {1e-14, 1e-15}};
// Eigen's float logistic is 0.5 + p(x)/q(x) (and exp(x) below -9), so its error is absolute,
// about one ulp of 0.5, rather than relative in the left tail where sigmoid is tiny.
constexpr tolerances sigmoid_tol{{1e-6, 2e-7}, {1e-14, 1e-16}};
// The erf form cancels in 1 + erf(x/sqrt2) for x << 0: erf is near -1 there, and Eigen's
// vectorised float erf is a few ulps of 1.0 (~2e-7) off, which leaves 1 + erf with that
// absolute error and the result with |x|/2 times it: ~6e-7 at x = -6. Positive x is a few
// ulps relative.
constexpr tolerances gelu_tol{{1e-6, 1e-6}, {1e-14, 1e-15}};

std::string label(const char* op, const char* dtype, std::size_t n, const char* mode) {
  return std::string(op) + "<" + dtype + "> n=" + std::to_string(n) + " " + mode;
}

template <class T>
const char* dtype_label() {
  return std::is_same_v<T, float> ? "f32" : "f64";
}

// Runs `op` on a float or double vector of every test size, eagerly and through a compiled
// single-op model, and checks both against `ref` (double in, double out) and each other.
template <class T, class Op, class Ref, class Fill>
void check_unary(const char* name, Op op, Ref ref, Fill fill, const tolerances& tols) {
  const tolerance tol = std::is_same_v<T, float> ? tols.f32 : tols.f64;
  auto model = loom::compile(op, loom::input<T, loom::extents<dyn>>{});
  std::uint32_t seed = 1000;
  for (std::size_t n : loom_test::sizes) {
    vec<T> x(n);
    fill(x, seed++);
    const auto eager = op(x);
    static_assert(std::is_same_v<typename decltype(eager)::value_type, T>,
                  "a unary op on f32 or f64 keeps the dtype");
    CHECK(eager.shape() == x.shape());
    LOOM_CHECK_REPORT(compare_with(
        eager,
        [&](std::size_t i) { return ref(static_cast<double>(x(i))); },
        tol,
        label(name, dtype_label<T>(), n, "eager")));
    const auto fused = model(x);
    LOOM_CHECK_REPORT(compare_same(fused, eager, label(name, dtype_label<T>(), n, "compiled")));
  }
}

template <class Op, class Ref, class Fill>
void check_unary_both(const char* name, Op op, Ref ref, Fill fill, const tolerances& tols) {
  check_unary<float>(name, op, ref, fill, tols);
  check_unary<double>(name, op, ref, fill, tols);
}

// Inputs for functions defined on positive numbers: magnitudes over many binades, with some
// elements negated so the NaN the reference gives there is checked too. Negatives go only
// into every third 64-element block (and the tail): in a block holding a value outside the
// positive normal range, the lanes outside it are computed again by the C library, and the
// other blocks keep the vectorised kernel alone under test.
const auto positive_with_negatives = [](auto& t, std::uint32_t seed) {
  loom_test::fill_log_uniform(t, seed, 1e-6, 1e6);
  for (std::size_t i = 3; i < t.size(); i += 7)
    if ((i / 64) % 3 == 0 || i >= t.size() / 64 * 64) t(i) = -t(i);
};

auto normal_fill(double stddev) {
  return [stddev](auto& t, std::uint32_t seed) {
    loom_test::fill_normal(t, seed, 0, stddev);
  };
}

auto uniform_fill(double lo, double hi) {
  return [lo, hi](auto& t, std::uint32_t seed) {
    loom_test::fill_uniform(t, seed, lo, hi);
  };
}

double gelu_ref(double x) {
  return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
}
double sigmoid_ref(double x) {
  return 1 / (1 + std::exp(-x));
}

// Generic callables: the same object runs eagerly on tensors and is traced by compile().
const auto neg_op = [](const auto& x) {
  return loom::neg(x);
};
const auto abs_op = [](const auto& x) {
  return loom::abs(x);
};
const auto square_op = [](const auto& x) {
  return loom::square(x);
};
const auto relu_op = [](const auto& x) {
  return loom::relu(x);
};
const auto exp_op = [](const auto& x) {
  return loom::exp(x);
};
const auto log_op = [](const auto& x) {
  return loom::log(x);
};
const auto sqrt_op = [](const auto& x) {
  return loom::sqrt(x);
};
const auto rsqrt_op = [](const auto& x) {
  return loom::rsqrt(x);
};
const auto sin_op = [](const auto& x) {
  return loom::sin(x);
};
const auto cos_op = [](const auto& x) {
  return loom::cos(x);
};
const auto tanh_op = [](const auto& x) {
  return loom::tanh(x);
};
const auto sigmoid_op = [](const auto& x) {
  return loom::sigmoid(x);
};
const auto gelu_op = [](const auto& x) {
  return loom::gelu(x);
};

}  // namespace

// --- values against the reference, every size, f32 and f64 ----------------------------------

TEST_CASE("neg, abs and square match a double reference", "[ops][unary]") {
  const auto fill = normal_fill(10);
  check_unary_both(
      "neg", neg_op, [](double x) { return -x; }, fill, exact);
  check_unary_both(
      "abs", abs_op, [](double x) { return std::abs(x); }, fill, exact);
  check_unary_both(
      "square", square_op, [](double x) { return x * x; }, fill, one_rounding);
}

TEST_CASE("unary minus on a tensor is neg", "[ops][unary]") {
  vec<float> x(65);
  loom_test::fill_normal(x, 7, 0, 3);
  const auto y = -x;
  LOOM_CHECK_REPORT(compare_with(
      y, [&](std::size_t i) { return -double(x(i)); }, {}, "-x"));
}

TEST_CASE("relu matches a double reference", "[ops][unary]") {
  check_unary_both(
      "relu", relu_op, [](double x) { return x < 0 ? 0.0 : x; }, normal_fill(10), exact);
}

TEST_CASE("exp matches a double reference", "[ops][unary]") {
  // [-80, 80] keeps float results normal and finite; overflow is a special-value test.
  check_unary_both(
      "exp", exp_op, [](double x) { return std::exp(x); }, uniform_fill(-80, 80), transcendental);
}

TEST_CASE("log matches a double reference, NaN for negative inputs", "[ops][unary]") {
  check_unary_both(
      "log", log_op, [](double x) { return std::log(x); }, positive_with_negatives, crosses_zero);
}

TEST_CASE("sqrt matches a double reference, NaN for negative inputs", "[ops][unary]") {
  check_unary_both(
      "sqrt",
      sqrt_op,
      [](double x) { return std::sqrt(x); },
      positive_with_negatives,
      transcendental);
}

TEST_CASE("rsqrt matches a double reference, NaN for negative inputs", "[ops][unary]") {
  check_unary_both(
      "rsqrt",
      rsqrt_op,
      [](double x) { return 1 / std::sqrt(x); },
      positive_with_negatives,
      transcendental);
}

TEST_CASE("sin and cos match a double reference", "[ops][unary]") {
  // Several periods either side of zero, so argument reduction is exercised.
  check_unary_both(
      "sin", sin_op, [](double x) { return std::sin(x); }, uniform_fill(-50, 50), crosses_zero);
  check_unary_both(
      "cos", cos_op, [](double x) { return std::cos(x); }, uniform_fill(-50, 50), crosses_zero);
}

TEST_CASE("tanh matches a double reference", "[ops][unary]") {
  // Mostly the curved part, with tails out to saturation.
  check_unary_both(
      "tanh",
      tanh_op,
      [](double x) { return std::tanh(x); },
      normal_fill(3),
      tolerances{{1e-6, 1e-8}, {1e-14, 1e-16}});
}

TEST_CASE("sigmoid matches a double reference", "[ops][unary]") {
  // Past +-9 both Eigen's approximation and the scalar formula change regime.
  check_unary_both("sigmoid", sigmoid_op, sigmoid_ref, uniform_fill(-20, 20), sigmoid_tol);
}

TEST_CASE("gelu is the exact erf form", "[ops][unary]") {
  // The tanh approximation differs from the erf form by up to ~5e-4, far outside gelu_tol.
  check_unary_both("gelu", gelu_op, gelu_ref, uniform_fill(-6, 6), gelu_tol);
}

// Eigen's float logistic() is accurate in absolute terms only (~5e-4 off relatively for
// x < -5), so loom's sigmoid is 1 / (1 + exp(-x)) in SIMD blocks too; this pins it.
TEST_CASE("float sigmoid keeps ~1e-6 relative accuracy in its left tail", "[ops][unary]") {
  vec<float> x(1024);
  loom_test::fill_uniform(x, 77, -20, -5);
  LOOM_CHECK_REPORT(compare_with(
      loom::sigmoid(x),
      [&](std::size_t i) { return sigmoid_ref(x(i)); },
      {1e-6, 0},
      "sigmoid on [-20, -5]"));
}

// --- IEEE special values ----------------------------------------------------------------------

namespace {

struct special_case {
  double x;
  double want;  // compared with loom_test::same: NaN matches NaN, -0 differs from +0
};

// Puts each special input at position i of a full SIMD block and again at 64 + i, in the
// scalar tail, so that both code paths of the CPU backend see it; eager and a compiled model
// both run.
template <class T, class Op>
void check_specials(const char* name, Op op, const std::vector<special_case>& cases) {
  const std::size_t k = cases.size();
  vec<T> x(64 + k);
  for (std::size_t i = 0; i < 64; ++i) x(i) = T(0.75);
  for (std::size_t i = 0; i < k; ++i) x(i) = x(64 + i) = static_cast<T>(cases[i].x);
  const auto eager = op(x);
  const auto fused = loom::compile(op, loom::input<T, loom::extents<dyn>>{})(x);
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t at : {i, 64 + i}) {
      INFO(name << "<" << dtype_label<T>() << ">(" << cases[i].x << ") at index " << at
                << (at < 64 ? " (in a 64-element block)" : " (scalar tail)") << ": got "
                << eager(at) << ", want " << cases[i].want);
      CHECK(loom_test::same(eager(at), static_cast<T>(cases[i].want)));
      CHECK(loom_test::same(fused(at), eager(at)));
    }
  }
}

template <class Op>
void check_specials_both(const char* name, Op op, const std::vector<special_case>& cases) {
  check_specials<float>(name, op, cases);
  check_specials<double>(name, op, cases);
}

}  // namespace

TEST_CASE("neg, abs and square on special values", "[ops][unary][special]") {
  check_specials_both(
      "neg", neg_op, {{0.0, -0.0}, {-0.0, 0.0}, {dinf, -dinf}, {-dinf, dinf}, {dnan, dnan}});
  check_specials_both(
      "abs", abs_op, {{-0.0, 0.0}, {-dinf, dinf}, {dinf, dinf}, {dnan, dnan}, {-3, 3}});
  check_specials_both("square", square_op, {{-dinf, dinf}, {dnan, dnan}, {-0.0, 0.0}, {-3, 9}});
}

TEST_CASE("relu keeps NaN and clamps -inf", "[ops][unary][special]") {
  check_specials_both(
      "relu", relu_op, {{dnan, dnan}, {dinf, dinf}, {-dinf, 0.0}, {-1, 0.0}, {2, 2}});
  // Either zero is a valid relu(-0); the sign is not specified.
  vec<float> x(65);
  for (auto& v : x) v = -0.0f;
  const auto y = loom::relu(x);
  CHECK(y(0) == 0.0f);
  CHECK(y(64) == 0.0f);
}

TEST_CASE("exp and log on special values", "[ops][unary][special]") {
  check_specials_both("exp",
                      exp_op,
                      {{-dinf, 0.0},
                       {dinf, dinf},
                       {dnan, dnan},
                       {0.0, 1.0},
                       {-0.0, 1.0},
                       {1000, dinf},
                       {-1000, 0.0}});
  check_specials_both("log",
                      log_op,
                      {{0.0, -dinf},
                       {-0.0, -dinf},
                       {-1, dnan},
                       {-dinf, dnan},
                       {dinf, dinf},
                       {dnan, dnan},
                       {1, 0.0}});
}

TEST_CASE("sqrt and rsqrt on special values", "[ops][unary][special]") {
  check_specials_both(
      "sqrt",
      sqrt_op,
      {{-1, dnan}, {-dinf, dnan}, {dinf, dinf}, {0.0, 0.0}, {-0.0, -0.0}, {dnan, dnan}, {4, 2}});
  check_specials_both(
      "rsqrt",
      rsqrt_op,
      {{0.0, dinf}, {-0.0, -dinf}, {dinf, 0.0}, {-1, dnan}, {dnan, dnan}, {4, 0.5}});
}

namespace {

// Every 64-element block of the input holds a NaN at one lane and `special` at another, over
// all pairs of lanes; the other lanes are 0.75. The range check that sends a block to the
// lane-by-lane path must see `special` whichever lane the NaN is in (a NaN that won a max
// hid an infinity: the fuzzer's model 268 gave NaN for sqrt(log(inf)); found/008).
template <class T, class Op>
void check_nan_beside(const char* name, Op op, double special, double want) {
  constexpr std::size_t w = 64;
  vec<T> x(w * w * w);
  std::size_t blocks = 0;
  for (std::size_t a = 0; a < w; ++a)
    for (std::size_t b = 0; b < w; ++b) {
      if (a == b) continue;
      for (std::size_t k = 0; k < w; ++k) x(blocks * w + k) = T(0.75);
      x(blocks * w + a) = static_cast<T>(dnan);
      x(blocks * w + b) = static_cast<T>(special);
      ++blocks;
    }
  const auto eager = op(x);
  const auto fused = loom::compile(op, loom::input<T, loom::extents<dyn>>{})(x);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < blocks * w; ++i) {
    const T in = x(i);
    wrong += !loom_test::same(fused(i), eager(i));
    if (in != T(0.75)) wrong += !loom_test::same(eager(i), in != in ? in : static_cast<T>(want));
  }
  INFO(name << "<" << dtype_label<T>() << ">(" << special << ") beside a NaN");
  CHECK(wrong == 0);
}

}  // namespace

TEST_CASE("a NaN in a block does not hide an infinity or a zero beside it",
          "[ops][unary][special]") {
  check_nan_beside<float>("log", log_op, dinf, dinf);
  check_nan_beside<double>("log", log_op, dinf, dinf);
  check_nan_beside<float>("log", log_op, 0.0, -dinf);
  check_nan_beside<double>("log", log_op, 0.0, -dinf);
  check_nan_beside<float>("sqrt", sqrt_op, dinf, dinf);
  check_nan_beside<double>("sqrt", sqrt_op, dinf, dinf);
  check_nan_beside<float>("rsqrt", rsqrt_op, 0.0, dinf);
  check_nan_beside<double>("rsqrt", rsqrt_op, 0.0, dinf);
  check_nan_beside<double>("exp", exp_op, -1000.0, 0.0);
}

TEST_CASE("sin, cos and tanh on special values", "[ops][unary][special]") {
  check_specials_both(
      "sin", sin_op, {{dinf, dnan}, {-dinf, dnan}, {dnan, dnan}, {0.0, 0.0}, {-0.0, -0.0}});
  check_specials_both(
      "cos", cos_op, {{dinf, dnan}, {-dinf, dnan}, {dnan, dnan}, {0.0, 1.0}, {-0.0, 1.0}});
  check_specials_both(
      "tanh",
      tanh_op,
      {{dinf, 1.0}, {-dinf, -1.0}, {dnan, dnan}, {0.0, 0.0}, {-0.0, -0.0}, {50, 1.0}, {-50, -1.0}});
}

TEST_CASE("sigmoid and gelu on special values", "[ops][unary][special]") {
  check_specials_both(
      "sigmoid",
      sigmoid_op,
      {{dinf, 1.0}, {-dinf, 0.0}, {dnan, dnan}, {0.0, 0.5}, {1000, 1.0}, {-1000, 0.0}});
  // gelu(-inf) is left out: the erf form gives -inf * 0 = NaN, as PyTorch's does.
  check_specials_both("gelu", gelu_op, {{dinf, dinf}, {dnan, dnan}, {0.0, 0.0}, {-0.0, -0.0}});
}

TEST_CASE("subnormal float inputs give accurate results", "[ops][unary][special]") {
  // Subnormal inputs are ordinary numbers: log(1e-40) is -92.1, sqrt(1e-40) is 1e-20. A
  // subnormal *result* may be flushed to zero, hence the absolute FLT_MIN in exp's tolerance.
  const std::vector<float> inputs{1e-40f, 3e-39f, 1e-45f, 1.1e-38f};
  vec<float> x(64 + inputs.size());
  for (std::size_t i = 0; i < 64; ++i) x(i) = 0.75f;
  for (std::size_t i = 0; i < inputs.size(); ++i) x(i) = x(64 + i) = inputs[i];
  const auto log_x = loom::log(x);
  const auto sqrt_x = loom::sqrt(x);
  const auto rsqrt_x = loom::rsqrt(x);
  vec<float> minus(64 + inputs.size());
  for (std::size_t i = 0; i < minus.size(); ++i) minus(i) = -90.f - float(i % 16);
  const auto exp_minus = loom::exp(minus);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    for (std::size_t at : {i, 64 + i}) {
      const double xd = x(at);
      INFO("x = " << xd << " at index " << at
                  << (at < 64 ? " (in a 64-element block)" : " (scalar tail)") << ": log "
                  << log_x(at) << " (want " << std::log(xd) << "), sqrt " << sqrt_x(at) << " (want "
                  << std::sqrt(xd) << "), rsqrt " << rsqrt_x(at) << " (want " << 1 / std::sqrt(xd)
                  << ")");
      CHECK(loom_test::close(log_x(at), std::log(xd), {1e-6, 0}));
      CHECK(loom_test::close(sqrt_x(at), std::sqrt(xd), {1e-6, 0}));
      CHECK(loom_test::close(rsqrt_x(at), 1 / std::sqrt(xd), {1e-6, 0}));
    }
  }
  LOOM_CHECK_REPORT(compare_with(
      exp_minus,
      [&](std::size_t i) { return std::exp(double(minus(i))); },
      {1e-6, std::numeric_limits<float>::min()},
      "exp with subnormal results"));
}

// --- dtype rules ------------------------------------------------------------------------------

TEST_CASE("neg, abs, square and relu keep i32 and compute exactly", "[ops][unary][dtype]") {
  for (std::size_t n : {std::size_t(65), std::size_t(70001)}) {
    vec<std::int32_t> x(n);
    // |x| <= 40000 keeps x * x below 2^31.
    loom_test::fill_int(x, 11, -40000, 40000);
    const auto n_ = loom::neg(x);
    const auto a = loom::abs(x);
    const auto s = loom::square(x);
    const auto r = loom::relu(x);
    static_assert(std::is_same_v<decltype(n_), const loom::tensor<std::int32_t>>);
    static_assert(std::is_same_v<decltype(a), const loom::tensor<std::int32_t>>);
    static_assert(std::is_same_v<decltype(s), const loom::tensor<std::int32_t>>);
    static_assert(std::is_same_v<decltype(r), const loom::tensor<std::int32_t>>);
    const auto at = [&](std::size_t i) {
      return double(x(i));
    };
    LOOM_CHECK_REPORT(compare_with(
        n_, [&](std::size_t i) { return -at(i); }, {}, "neg i32"));
    LOOM_CHECK_REPORT(compare_with(
        a, [&](std::size_t i) { return std::abs(at(i)); }, {}, "abs i32"));
    LOOM_CHECK_REPORT(compare_with(
        s, [&](std::size_t i) { return at(i) * at(i); }, {}, "square i32"));
    LOOM_CHECK_REPORT(compare_with(
        r, [&](std::size_t i) { return at(i) < 0 ? 0.0 : at(i); }, {}, "relu i32"));
  }
}

TEST_CASE("floating unary ops of i32 produce f32", "[ops][unary][dtype]") {
  const std::size_t n = 1000;
  vec<std::int32_t> small(n), wide(n);
  loom_test::fill_int(small, 21, -20, 20);
  loom_test::fill_int(wide, 22, -1000000, 1000000);
  // A subset of the floating ops (each dtype pair is another compiled kernel); they share
  // one dtype rule, floating_unary.
  const auto check =
      [&](const char* name, const auto& got, const vec<std::int32_t>& x, auto ref, tolerance tol) {
        static_assert(
            std::is_same_v<typename std::remove_cvref_t<decltype(got)>::value_type, float>,
            "transcendental functions of integers are f32, as in PyTorch");
        // The i32 -> f32 conversion rounds above 2^24; the reference rounds the same way first.
        LOOM_CHECK_REPORT(compare_with(
            got, [&](std::size_t i) { return ref(double(float(x(i)))); }, tol, name));
      };
  check("exp i32", loom::exp(small), small, [](double v) { return std::exp(v); }, {1e-6, 0});
  // wide includes 0 and negatives: -inf and NaN.
  check("log i32", loom::log(wide), wide, [](double v) { return std::log(v); }, {1e-6, 1e-7});
  check("sqrt i32", loom::sqrt(wide), wide, [](double v) { return std::sqrt(v); }, {1e-6, 0});
}

TEST_CASE("unary ops of bool: arithmetic as i32, transcendental as f32", "[ops][unary][dtype]") {
  vec<bool> b(100);
  loom_test::fill_bool(b, 31);
  b(0) = true;
  b(1) = false;
  const auto n = loom::neg(b);
  const auto e = loom::exp(b);
  static_assert(std::is_same_v<decltype(n)::value_type, std::int32_t>,
                "arithmetic never happens on bool: -true is -1");
  static_assert(std::is_same_v<decltype(e)::value_type, float>);
  CHECK(n(0) == -1);
  CHECK(n(1) == 0);
  const auto at = [&](std::size_t i) {
    return b(i) ? 1.0 : 0.0;
  };
  LOOM_CHECK_REPORT(compare_with(
      n, [&](std::size_t i) { return -at(i); }, {}, "neg bool"));
  LOOM_CHECK_REPORT(compare_with(
      e, [&](std::size_t i) { return std::exp(at(i)); }, {1e-6, 0}, "exp bool"));
}

// --- cast ---------------------------------------------------------------------------------------

TEST_CASE("cast converts as static_cast does", "[ops][unary][cast][dtype]") {
  const std::size_t n = 1000;
  vec<float> f(n);
  loom_test::fill_uniform(f, 41, -1e6, 1e6);
  // Exact zeros of both signs, for the conversion to bool.
  f(0) = 0.0f;
  f(1) = -0.0f;
  f(2) = 0.5f;
  f(3) = -0.5f;
  vec<std::int32_t> i(n);
  loom_test::fill_int(i, 42, -(1 << 30), 1 << 30);
  i(0) = 0;
  vec<double> d(n);
  loom_test::fill_normal(d, 43, 0, 1e3);
  vec<bool> b(n);
  loom_test::fill_bool(b, 44);

  SECTION("f32 to i32 truncates toward zero") {
    const auto r = loom::cast<std::int32_t>(f);
    static_assert(std::is_same_v<decltype(r)::value_type, std::int32_t>);
    LOOM_CHECK_REPORT(compare_with(
        r, [&](std::size_t k) { return std::trunc(double(f(k))); }, {}, "f32->i32"));
  }
  SECTION("f32 to bool is true for nonzero, false for both zeros, true for NaN") {
    vec<float> g = f;
    g(4) = loom_test::fnan;
    g(5) = loom_test::finf;
    const auto r = loom::cast<bool>(g);
    static_assert(std::is_same_v<decltype(r)::value_type, bool>);
    LOOM_CHECK_REPORT(compare_with(
        r, [&](std::size_t k) { return g(k) != 0.0f ? 1.0 : 0.0; }, {}, "f32->bool"));
  }
  SECTION("i32 to f32 rounds to nearest") {
    const auto r = loom::cast<float>(i);
    static_assert(std::is_same_v<decltype(r)::value_type, float>);
    // Correct rounding: within half an ulp of the exact integer.
    LOOM_CHECK_REPORT(compare_with(
        r, [&](std::size_t k) { return double(i(k)); }, {eps_f / 2, 0}, "i32->f32"));
  }
  SECTION("bool to i32 gives 0 and 1") {
    const auto bi = loom::cast<std::int32_t>(b);
    static_assert(std::is_same_v<decltype(bi)::value_type, std::int32_t>);
    LOOM_CHECK_REPORT(compare_with(
        bi, [&](std::size_t k) { return b(k) ? 1.0 : 0.0; }, {}, "bool->i32"));
  }
  SECTION("f32 to f64 is exact, f64 to f32 rounds to nearest") {
    const auto fd = loom::cast<double>(f);
    const auto df = loom::cast<float>(d);
    static_assert(std::is_same_v<decltype(fd)::value_type, double>);
    static_assert(std::is_same_v<decltype(df)::value_type, float>);
    LOOM_CHECK_REPORT(compare_with(
        fd, [&](std::size_t k) { return double(f(k)); }, {}, "f32->f64"));
    LOOM_CHECK_REPORT(compare_with(
        df, [&](std::size_t k) { return d(k); }, {eps_f / 2, 0}, "f64->f32"));
  }
  SECTION("a compiled cast equals the eager one") {
    auto model = loom::compile([](const auto& x) { return loom::cast<std::int32_t>(x); },
                               loom::input<float, loom::extents<dyn>>{});
    LOOM_CHECK_REPORT(compare_same(model(f), loom::cast<std::int32_t>(f), "compiled cast"));
  }
}

TEST_CASE("cast to i32 saturates out of range and gives 0 for NaN, on every path",
          "[ops][unary][cast][dtype][special]") {
  // C++ leaves these conversions undefined; loom defines them (Rust's `as` rule). 200
  // elements: SIMD blocks and a scalar tail, each with every special value in it.
  const float specials[] = {loom_test::fnan,
                            -loom_test::fnan,
                            3e9f,
                            -3e9f,
                            loom_test::finf,
                            -loom_test::finf,
                            2147483648.f,
                            -2147483648.f,
                            2147483520.f,
                            -2147483904.f,
                            1e38f,
                            -0.f};
  vec<float> f(200);
  loom_test::fill_uniform(f, 45, -4e9, 4e9);
  for (std::size_t k = 0; k < f.size(); k += 7) f(k) = specials[k / 7 % std::size(specials)];
  for (std::size_t k = 0; k < std::size(specials); ++k) f(f.size() - 1 - k) = specials[k];
  vec<double> d(f.size());
  for (std::size_t k = 0; k < f.size(); ++k) d(k) = double(f(k)) * (k % 2 ? 1.0 : 0.75);
  auto saturated = [](double x) {
    if (std::isnan(x)) return 0.0;
    return std::trunc(std::clamp(x, -2147483648.0, 2147483647.0));
  };
  auto to_i32 = [](const auto& x) {
    return loom::cast<std::int32_t>(x);
  };
  auto fused_f = loom::compile(to_i32, loom::input<float, loom::extents<dyn>>{});
  auto fused_d = loom::compile(to_i32, loom::input<double, loom::extents<dyn>>{});
  auto want_f = [&](std::size_t k) {
    return saturated(f(k));
  };
  auto want_d = [&](std::size_t k) {
    return saturated(d(k));
  };
  LOOM_CHECK_REPORT(compare_with(to_i32(f), want_f, {}, "f32->i32 eager"));
  LOOM_CHECK_REPORT(compare_with(fused_f(f), want_f, {}, "f32->i32 fused"));
  LOOM_CHECK_REPORT(compare_with(to_i32(d), want_d, {}, "f64->i32 eager"));
  LOOM_CHECK_REPORT(compare_with(fused_d(d), want_d, {}, "f64->i32 fused"));
}

// --- fused models -----------------------------------------------------------------------------

namespace {

// Every float unary op in one expression, so one fused pass evaluates them all.
const auto all_unary = [](const auto& x) {
  return loom::gelu(x) + loom::sigmoid(x) * loom::tanh(x) - loom::exp(-loom::square(x)) +
         loom::sqrt(loom::abs(x)) * loom::rsqrt(loom::square(x) + 1.0f) +
         loom::sin(x) * loom::cos(x) + loom::log(loom::abs(x) + 1.0f) + loom::relu(-x);
};

double all_unary_ref(double x) {
  return gelu_ref(x) + sigmoid_ref(x) * std::tanh(x) - std::exp(-x * x) +
         std::sqrt(std::abs(x)) / std::sqrt(x * x + 1) + std::sin(x) * std::cos(x) +
         std::log(std::abs(x) + 1) + (-x < 0 ? 0.0 : -x);
}

// Sum of the magnitudes of all_unary's terms, the scale of its rounding errors.
double all_unary_scale(double x) {
  return std::abs(gelu_ref(x)) + std::abs(sigmoid_ref(x) * std::tanh(x)) + std::exp(-x * x) +
         std::sqrt(std::abs(x)) / std::sqrt(x * x + 1) + std::abs(std::sin(x) * std::cos(x)) +
         std::log(std::abs(x) + 1) + std::abs(x);
}

}  // namespace

TEST_CASE("a fused model of every unary op matches the reference and eager execution",
          "[ops][unary][fused]") {
  auto model = loom::compile(all_unary, loom::input<float, loom::extents<dyn>>{});
  static_assert(decltype(model)::kernel_count == 1, "element-wise ops fuse into one pass");
  std::uint32_t seed = 500;
  for (std::size_t n : loom_test::sizes) {
    vec<float> x(n);
    loom_test::fill_normal(x, seed++, 0, 3);
    const auto fused = model(x);
    const auto eager = all_unary(x);
    static_assert(std::is_same_v<decltype(fused), const vec<float>>);
    const auto scale = [&](std::size_t i) {
      return all_unary_scale(x(i));
    };
    // Seven terms, each a few ulps (or gelu's and sigmoid's absolute errors, below 1e-6) off,
    // with float intermediates between ops: 1e-6 of the terms' magnitudes plus 1e-6 absolute.
    LOOM_CHECK_REPORT(compare_scaled(
        fused,
        [&](std::size_t i) { return all_unary_ref(x(i)); },
        scale,
        {1e-6, 1e-6},
        "fused all-unary n=" + std::to_string(n)));
    // The fused loop may contract a product and a sum into one FMA where eager rounds the
    // product first: one rounding of a term apart, 2 ulps of the scale allow it.
    LOOM_CHECK_REPORT(compare_scaled(
        fused,
        [&](std::size_t i) { return eager(i); },
        scale,
        {2 * eps_f, 0},
        "fused vs eager n=" + std::to_string(n)));
  }
}

TEST_CASE("a fused chain of unary ops equals the eager chain bit for bit", "[ops][unary][fused]") {
  // Composition only, no multiply-add the compiler could contract: fused and eager execute
  // the same functions on the same values, so they agree exactly, including NaN and -0.
  const auto chain = [](const auto& x) {
    return loom::relu(loom::tanh(loom::sigmoid(loom::sqrt(loom::abs(loom::sin(x))))) -
                      loom::exp(loom::cos(x)));
  };
  auto model = loom::compile(chain, loom::input<float, loom::extents<dyn>>{});
  std::uint32_t seed = 600;
  for (std::size_t n : loom_test::sizes) {
    vec<float> x(n);
    loom_test::fill_normal(x, seed++, 0, 5);
    if (n > 10) {
      x(3) = loom_test::fnan;
      x(5) = -loom_test::finf;
    }
    LOOM_CHECK_REPORT(compare_same(model(x), chain(x), "chain n=" + std::to_string(n)));
  }
}
