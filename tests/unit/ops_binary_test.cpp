// Element-wise binary ops, comparisons and where: values against a double-precision
// reference loop, IEEE special values in both the SIMD blocks and the scalar tail, dtype
// promotion (tensors and weak C++ scalars), and compiled (fused) models against eager runs.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "test_support.hpp"

using loom::dyn;
using loom_test::compare_same;
using loom_test::compare_scaled;
using loom_test::compare_with;
using loom_test::dinf;
using loom_test::dnan;
using loom_test::fnan;
using loom_test::tolerance;
using loom_test::vec;

namespace {

constexpr double eps_f = std::numeric_limits<float>::epsilon();   // 2^-23
constexpr double eps_d = std::numeric_limits<double>::epsilon();  // 2^-52

template <class Tensor>
using value_t = typename std::remove_cvref_t<Tensor>::value_type;

template <class T>
const char* dtype_label() {
  return std::is_same_v<T, float> ? "f32" : "f64";
}

std::string label(const char* op, const char* dtype, std::size_t n, const char* mode) {
  return std::string(op) + "<" + dtype + "> n=" + std::to_string(n) + " " + mode;
}

// + - * / are correctly rounded in IEEE arithmetic: within half an ulp of the exact result,
// which the double reference reproduces exactly for float + - * and to 2^-53 for /. Allow
// one ulp (relative epsilon) for either dtype.
constexpr tolerance rounded_f{eps_f, 0};
constexpr tolerance rounded_d{eps_d, 0};
// pow is a vectorised exp/log pair in Eigen: a few ulps, ~1e-6 relative for float. Double
// keeps room for ~45 ulps.
constexpr tolerance pow_f{1e-6, 0};
constexpr tolerance pow_d{1e-14, 0};

const auto add_op = [](const auto& a, const auto& b) {
  return a + b;
};
const auto sub_op = [](const auto& a, const auto& b) {
  return a - b;
};
const auto mul_op = [](const auto& a, const auto& b) {
  return a * b;
};
const auto div_op = [](const auto& a, const auto& b) {
  return a / b;
};
const auto pow_op = [](const auto& a, const auto& b) {
  return loom::pow(a, b);
};
const auto min_op = [](const auto& a, const auto& b) {
  return loom::minimum(a, b);
};
const auto max_op = [](const auto& a, const auto& b) {
  return loom::maximum(a, b);
};

// Runs `op` on two vectors of every test size, eagerly and through a compiled single-op
// model, and checks both against `ref` and each other. `fill` writes the operands.
template <class T, class Op, class Ref, class Fill>
void check_binary(const char* name, Op op, Ref ref, Fill fill, tolerance tol) {
  using in = loom::input<T, loom::extents<dyn>>;
  auto model = loom::compile(op, in{}, in{});
  std::uint32_t seed = 2000;
  for (std::size_t n : loom_test::sizes) {
    vec<T> a(n), b(n);
    fill(a, b, seed);
    seed += 2;
    const auto eager = op(a, b);
    static_assert(std::is_same_v<value_t<decltype(eager)>, T>);
    CHECK(eager.shape() == a.shape());
    LOOM_CHECK_REPORT(compare_with(
        eager,
        [&](std::size_t i) { return ref(double(a(i)), double(b(i))); },
        tol,
        label(name, dtype_label<T>(), n, "eager")));
    LOOM_CHECK_REPORT(
        compare_same(model(a, b), eager, label(name, dtype_label<T>(), n, "compiled")));
  }
}

// Normal operands, with every fifth b equal to a so that ties (x - x, min/max of equal
// values, x / x) are covered.
const auto normal_pair = [](auto& a, auto& b, std::uint32_t seed) {
  loom_test::fill_normal(a, seed, 0, 10);
  loom_test::fill_normal(b, seed + 1, 0, 10);
  for (std::size_t i = 0; i < a.size(); i += 5) b(i) = a(i);
};

// pow: positive bases over six binades and exponents in [-4, 4], so results stay finite and
// normal in float.
const auto pow_pair = [](auto& a, auto& b, std::uint32_t seed) {
  loom_test::fill_log_uniform(a, seed, 1e-2, 1e2);
  loom_test::fill_uniform(b, seed + 1, -4, 4);
};

}  // namespace

// --- values against the reference, every size, f32 and f64 ----------------------------------

TEST_CASE("add, sub, mul and div match a double reference", "[ops][binary]") {
  const auto add_ref = [](double a, double b) {
    return a + b;
  };
  const auto sub_ref = [](double a, double b) {
    return a - b;
  };
  const auto mul_ref = [](double a, double b) {
    return a * b;
  };
  const auto div_ref = [](double a, double b) {
    return a / b;
  };
  check_binary<float>("add", add_op, add_ref, normal_pair, rounded_f);
  check_binary<float>("sub", sub_op, sub_ref, normal_pair, rounded_f);
  check_binary<float>("mul", mul_op, mul_ref, normal_pair, rounded_f);
  check_binary<float>("div", div_op, div_ref, normal_pair, rounded_f);
  check_binary<double>("add", add_op, add_ref, normal_pair, rounded_d);
  check_binary<double>("sub", sub_op, sub_ref, normal_pair, rounded_d);
  check_binary<double>("mul", mul_op, mul_ref, normal_pair, rounded_d);
  check_binary<double>("div", div_op, div_ref, normal_pair, rounded_d);
}

TEST_CASE("pow matches a double reference", "[ops][binary]") {
  const auto ref = [](double a, double b) {
    return std::pow(a, b);
  };
  check_binary<float>("pow", pow_op, ref, pow_pair, pow_f);
  check_binary<double>("pow", pow_op, ref, pow_pair, pow_d);
}

TEST_CASE("minimum and maximum match a double reference exactly", "[ops][binary]") {
  const auto min_ref = [](double a, double b) {
    return a < b ? a : b;
  };
  const auto max_ref = [](double a, double b) {
    return a < b ? b : a;
  };
  check_binary<float>("minimum", min_op, min_ref, normal_pair, {});
  check_binary<float>("maximum", max_op, max_ref, normal_pair, {});
  check_binary<double>("minimum", min_op, min_ref, normal_pair, {});
  check_binary<double>("maximum", max_op, max_ref, normal_pair, {});
}

TEST_CASE("C++ scalars combine with tensors on either side", "[ops][binary][scalar]") {
  vec<float> x(1000);
  loom_test::fill_normal(x, 2100, 0, 10);
  const auto at = [&](std::size_t i) {
    return double(x(i));
  };
  // The scalar becomes a float before the op (weak scalar), so 0.1 means 0.1f.
  const double tenth = double(0.1f);
  LOOM_CHECK_REPORT(compare_with(
      x * 0.1, [&](std::size_t i) { return at(i) * tenth; }, rounded_f, "x * 0.1"));
  LOOM_CHECK_REPORT(compare_with(
      2.5f - x, [&](std::size_t i) { return 2.5 - at(i); }, rounded_f, "2.5f - x"));
  LOOM_CHECK_REPORT(compare_with(
      1.0f / x, [&](std::size_t i) { return 1 / at(i); }, rounded_f, "1 / x"));
  LOOM_CHECK_REPORT(compare_with(
      loom::minimum(1.5f, x),
      [&](std::size_t i) { return at(i) < 1.5 ? at(i) : 1.5; },
      {},
      "minimum(1.5f, x)"));
  LOOM_CHECK_REPORT(compare_with(
      loom::pow(loom::abs(x), 2),
      [&](std::size_t i) { return at(i) * at(i); },
      pow_f,
      "pow(|x|, 2)"));
}

// --- comparisons and where ----------------------------------------------------------------------

namespace {

// Small integers as floats make equal operands common; NaN is sprinkled into both sides.
void fill_comparable(vec<float>& a, vec<float>& b, std::uint32_t seed) {
  loom_test::fill_int(a, seed, -4, 4);
  loom_test::fill_int(b, seed + 1, -4, 4);
  for (std::size_t i = 7; i < a.size(); i += 11) a(i) = fnan;
  for (std::size_t i = 5; i < b.size(); i += 13) b(i) = fnan;
}

template <class Op, class Ref>
void check_comparison(const char* name, Op op, Ref ref) {
  using in = loom::input<float, loom::extents<dyn>>;
  auto model = loom::compile(op, in{}, in{});
  std::uint32_t seed = 3000;
  for (std::size_t n : loom_test::sizes) {
    vec<float> a(n), b(n);
    fill_comparable(a, b, seed);
    seed += 2;
    const auto eager = op(a, b);
    static_assert(std::is_same_v<value_t<decltype(eager)>, bool>, "comparisons give bool");
    // C++'s own comparison of doubles is the IEEE reference: false with NaN except !=.
    LOOM_CHECK_REPORT(compare_with(
        eager,
        [&](std::size_t i) { return ref(double(a(i)), double(b(i))) ? 1.0 : 0.0; },
        {},
        label(name, "f32", n, "eager")));
    LOOM_CHECK_REPORT(compare_same(model(a, b), eager, label(name, "f32", n, "compiled")));
  }
}

}  // namespace

TEST_CASE("comparisons give bool tensors and follow IEEE for NaN", "[ops][binary][compare]") {
  check_comparison(
      "lt",
      [](const auto& a, const auto& b) { return a < b; },
      [](double a, double b) { return a < b; });
  check_comparison(
      "le",
      [](const auto& a, const auto& b) { return a <= b; },
      [](double a, double b) { return a <= b; });
  check_comparison(
      "gt",
      [](const auto& a, const auto& b) { return a > b; },
      [](double a, double b) { return a > b; });
  check_comparison(
      "ge",
      [](const auto& a, const auto& b) { return a >= b; },
      [](double a, double b) { return a >= b; });
  check_comparison(
      "eq",
      [](const auto& a, const auto& b) { return a == b; },
      [](double a, double b) { return a == b; });
  check_comparison(
      "ne",
      [](const auto& a, const auto& b) { return a != b; },
      [](double a, double b) { return a != b; });
}

TEST_CASE("comparisons with NaN are false except !=, and -0 == +0", "[ops][binary][compare]") {
  // Each pair sits in a SIMD block (index i) and in the scalar tail (64 + i).
  const std::vector<std::pair<float, float>> pairs{
      {fnan, 1.f}, {1.f, fnan}, {fnan, fnan}, {-0.0f, 0.0f}, {loom_test::finf, fnan}};
  vec<float> a(64 + pairs.size()), b(64 + pairs.size());
  for (std::size_t i = 0; i < 64; ++i) a(i) = b(i) = 1.f;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    a(i) = a(64 + i) = pairs[i].first;
    b(i) = b(64 + i) = pairs[i].second;
  }
  const auto lt = a<b, le = a <= b, gt = a> b, ge = a >= b, eq = a == b, ne = a != b;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    for (std::size_t at : {i, 64 + i}) {
      INFO("(" << a(at) << ", " << b(at) << ") at index " << at);
      const bool zeros = i == 3;  // -0 vs +0: equal, neither less nor greater
      CHECK(lt(at) == false);
      CHECK(gt(at) == false);
      CHECK(le(at) == zeros);
      CHECK(ge(at) == zeros);
      CHECK(eq(at) == zeros);
      CHECK(ne(at) == !zeros);
    }
  }
}

TEST_CASE("where selects per element without touching the other branch", "[ops][binary][where]") {
  const auto where_op = [](const auto& c, const auto& a, const auto& b) {
    return loom::where(c, a, b);
  };
  using f32 = loom::input<float, loom::extents<dyn>>;
  auto model = loom::compile(where_op, loom::input<bool, loom::extents<dyn>>{}, f32{}, f32{});
  std::uint32_t seed = 4000;
  for (std::size_t n : loom_test::sizes) {
    vec<bool> c(n);
    vec<float> a(n), b(n);
    loom_test::fill_bool(c, seed++);
    loom_test::fill_normal(a, seed++, 0, 5);
    loom_test::fill_normal(b, seed++, 0, 5);
    // NaN and inf in the branch that is not taken must not leak into the result.
    for (std::size_t i = 0; i < n; i += 9) (c(i) ? b(i) : a(i)) = fnan;
    for (std::size_t i = 4; i < n; i += 9) (c(i) ? b(i) : a(i)) = -loom_test::finf;
    const auto eager = loom::where(c, a, b);
    static_assert(std::is_same_v<value_t<decltype(eager)>, float>);
    LOOM_CHECK_REPORT(compare_with(
        eager,
        [&](std::size_t i) { return c(i) ? double(a(i)) : double(b(i)); },
        {},
        label("where", "f32", n, "eager")));
    LOOM_CHECK_REPORT(compare_same(model(c, a, b), eager, label("where", "f32", n, "compiled")));
  }
}

TEST_CASE("where promotes its branches and accepts scalars and non-bool conditions",
          "[ops][binary][where][dtype]") {
  vec<float> x(100);
  loom_test::fill_normal(x, 4100, 0, 3);
  x(0) = 0.0f;
  x(1) = -0.0f;
  vec<std::int32_t> i(100);
  loom_test::fill_int(i, 4101, -100, 100);

  const auto m = loom::where(x < 0.5, i, x);
  static_assert(std::is_same_v<value_t<decltype(m)>, float>, "i32 and f32 branches give f32");
  LOOM_CHECK_REPORT(compare_with(
      m,
      [&](std::size_t k) { return x(k) < 0.5f ? double(i(k)) : double(x(k)); },
      {},
      "where(x<.5, i32, f32)"));

  // A non-bool condition converts as static_cast<bool>: zero of either sign is false.
  const auto nz = loom::where(x, 1, 0);
  LOOM_CHECK_REPORT(compare_with(
      nz, [&](std::size_t k) { return x(k) != 0 ? 1.0 : 0.0; }, {}, "where(x, 1, 0)"));

  // A scalar branch takes the other branch's dtype, never the condition's: i32 here, eager
  // and compiled.
  const auto keep_i32 = [](const auto& c, const auto& v) {
    return loom::where(c, v, 2);
  };
  const auto eager = keep_i32(x, i);
  auto compiled = loom::compile(keep_i32,
                                loom::input<float, loom::extents<dyn>>{},
                                loom::input<std::int32_t, loom::extents<dyn>>{});
  const auto fused = compiled(x, i);
  static_assert(std::is_same_v<value_t<decltype(eager)>, std::int32_t>);
  static_assert(std::is_same_v<value_t<decltype(fused)>, std::int32_t>);
  const auto want = [&](std::size_t k) {
    return x(k) != 0 ? double(i(k)) : 2.0;
  };
  LOOM_CHECK_REPORT(compare_with(eager, want, {}, "where(f32, i32, 2) eager"));
  LOOM_CHECK_REPORT(compare_with(fused, want, {}, "where(f32, i32, 2) compiled"));
}

// --- IEEE special values ----------------------------------------------------------------------

namespace {

struct special_case {
  double a, b, want;  // compared with loom_test::same: NaN matches NaN, -0 differs from +0
};

// Each pair at position i of a full SIMD block and again at 64 + i in the scalar tail, so
// both code paths of the CPU backend see it.
template <class T, class Op>
void check_specials(const char* name, Op op, const std::vector<special_case>& cases) {
  const std::size_t k = cases.size();
  vec<T> a(64 + k), b(64 + k);
  for (std::size_t i = 0; i < 64; ++i) {
    a(i) = T(1.5);
    b(i) = T(0.5);
  }
  for (std::size_t i = 0; i < k; ++i) {
    a(i) = a(64 + i) = static_cast<T>(cases[i].a);
    b(i) = b(64 + i) = static_cast<T>(cases[i].b);
  }
  const auto got = op(a, b);
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t at : {i, 64 + i}) {
      INFO(name << "<" << dtype_label<T>() << ">(" << cases[i].a << ", " << cases[i].b
                << ") at index " << at << (at < 64 ? " (in a 64-element block)" : " (scalar tail)")
                << ": got " << got(at) << ", want " << cases[i].want);
      CHECK(loom_test::same(got(at), static_cast<T>(cases[i].want)));
    }
  }
}

template <class Op>
void check_specials_both(const char* name, Op op, const std::vector<special_case>& cases) {
  check_specials<float>(name, op, cases);
  check_specials<double>(name, op, cases);
}

}  // namespace

TEST_CASE("arithmetic on special values follows IEEE 754", "[ops][binary][special]") {
  check_specials_both("add",
                      add_op,
                      {{dinf, -dinf, dnan},
                       {dnan, 1, dnan},
                       {-0.0, -0.0, -0.0},
                       {-0.0, 0.0, 0.0},
                       {dinf, 1, dinf}});
  check_specials_both(
      "sub", sub_op, {{dinf, dinf, dnan}, {-0.0, 0.0, -0.0}, {0.0, 0.0, 0.0}, {1, dnan, dnan}});
  check_specials_both(
      "mul", mul_op, {{0.0, dinf, dnan}, {-0.0, 5, -0.0}, {-dinf, -2, dinf}, {dnan, 0.0, dnan}});
  check_specials_both("div",
                      div_op,
                      {{1, 0.0, dinf},
                       {-1, 0.0, -dinf},
                       {0.0, 0.0, dnan},
                       {1, -0.0, -dinf},
                       {dinf, dinf, dnan},
                       {1, dinf, 0.0},
                       {-1, dinf, -0.0}});
}

TEST_CASE("pow on special values follows C's pow", "[ops][binary][special]") {
  check_specials_both("pow",
                      pow_op,
                      {{dnan, 0.0, 1},
                       {1, dnan, 1},
                       {-2, 3, -8},
                       {-2, 0.5, dnan},
                       {0.0, -1, dinf},
                       {-0.0, -1, -dinf},
                       {dinf, -1, 0.0},
                       {-dinf, 3, -dinf},
                       {2, 10, 1024},
                       {0.5, -dinf, dinf},
                       {-1, dinf, 1},
                       {4, 0.5, 2}});
}

TEST_CASE("minimum and maximum propagate NaN from either operand", "[ops][binary][special]") {
  check_specials_both(
      "maximum",
      max_op,
      {{dnan, 1, dnan}, {1, dnan, dnan}, {dnan, dnan, dnan}, {-dinf, dinf, dinf}, {1, 2, 2}});
  check_specials_both(
      "minimum",
      min_op,
      {{dnan, 1, dnan}, {1, dnan, dnan}, {dnan, dnan, dnan}, {-dinf, dinf, -dinf}, {1, 2, 1}});
}

// --- dtype promotion ------------------------------------------------------------------------

TEST_CASE("tensor dtypes promote bool < i32 < f32 < f64", "[ops][binary][dtype]") {
  const std::size_t n = 100;
  vec<bool> bl(n), br(n);
  vec<std::int32_t> i(n), j(n);
  vec<float> f(n);
  vec<double> d(n);
  loom_test::fill_bool(bl, 5000);
  loom_test::fill_bool(br, 5001);
  bl(0) = br(0) = true;  // true + true must be 2
  loom_test::fill_int(i, 5002, -1000, 1000);
  loom_test::fill_int(j, 5003, -10, 10);
  j(1) = 0;  // integer division by zero is a float division: inf or NaN
  i(2) = -7;
  j(2) = 2;  // true division: -3.5, not C++'s -3
  loom_test::fill_normal(f, 5004, 0, 10);
  loom_test::fill_normal(d, 5005, 0, 10);
  const auto di = [&](std::size_t k) {
    return double(i(k));
  };
  const auto dj = [&](std::size_t k) {
    return double(j(k));
  };

  SECTION("i32 + f32 -> f32") {
    const auto r = i + f;
    static_assert(std::is_same_v<value_t<decltype(r)>, float>);
    LOOM_CHECK_REPORT(compare_with(
        r, [&](std::size_t k) { return di(k) + f(k); }, rounded_f, "i32 + f32"));
  }
  SECTION("f32 + f64 -> f64") {
    const auto r = f + d;
    static_assert(std::is_same_v<value_t<decltype(r)>, double>);
    LOOM_CHECK_REPORT(compare_with(
        r, [&](std::size_t k) { return double(f(k)) + d(k); }, rounded_d, "f32 + f64"));
  }
  SECTION("bool + bool -> i32") {
    const auto r = bl + br;
    static_assert(std::is_same_v<value_t<decltype(r)>, std::int32_t>,
                  "arithmetic never happens on bool: true + true is 2");
    CHECK(r(0) == 2);
    LOOM_CHECK_REPORT(compare_with(
        r, [&](std::size_t k) { return (bl(k) ? 1.0 : 0.0) + (br(k) ? 1.0 : 0.0); }, {}, "b+b"));
  }
  SECTION("i32 + i32 stays i32 and is exact") {
    const auto a = i + j;
    static_assert(std::is_same_v<value_t<decltype(a)>, std::int32_t>);
    LOOM_CHECK_REPORT(compare_with(
        a, [&](std::size_t k) { return di(k) + dj(k); }, {}, "i+j"));
  }
  SECTION("i32 / i32 -> f32 true division") {
    const auto r = i / j;
    static_assert(std::is_same_v<value_t<decltype(r)>, float>);
    CHECK(r(2) == -3.5f);
    // Both operands become f32 first (exact below 2^24), then one rounded division.
    LOOM_CHECK_REPORT(compare_with(
        r, [&](std::size_t k) { return di(k) / dj(k); }, rounded_f, "i32 / i32"));
  }
  SECTION("maximum of i32 stays i32") {
    const auto hi = loom::maximum(i, j);
    static_assert(std::is_same_v<value_t<decltype(hi)>, std::int32_t>);
    LOOM_CHECK_REPORT(compare_with(
        hi, [&](std::size_t k) { return std::max(di(k), dj(k)); }, {}, "maximum i32"));
  }
  SECTION("a mixed comparison promotes, then gives bool") {
    const auto lt = i < f;
    static_assert(std::is_same_v<value_t<decltype(lt)>, bool>);
    LOOM_CHECK_REPORT(compare_with(
        lt, [&](std::size_t k) { return di(k) < f(k) ? 1.0 : 0.0; }, {}, "i32<f32"));
  }
}

TEST_CASE("C++ scalars are weak: they adopt the tensor's dtype unless that drops a fraction",
          "[ops][binary][dtype][scalar]") {
  const std::size_t n = 100;
  vec<float> f(n);
  vec<double> d(n);
  vec<std::int32_t> i(n);
  vec<bool> b(n);
  loom_test::fill_normal(f, 6000, 0, 10);
  loom_test::fill_normal(d, 6001, 0, 10);
  loom_test::fill_int(i, 6002, -1000, 1000);
  loom_test::fill_bool(b, 6003);

  const auto f2 = f * 2.0;
  static_assert(std::is_same_v<value_t<decltype(f2)>, float>, "f32 * double stays f32");
  LOOM_CHECK_REPORT(compare_with(
      f2, [&](std::size_t k) { return 2.0 * f(k); }, {}, "f32*2.0"));

  const auto ih = i * 0.5;
  static_assert(std::is_same_v<value_t<decltype(ih)>, float>, "i32 * 0.5 becomes f32");
  LOOM_CHECK_REPORT(compare_with(
      ih, [&](std::size_t k) { return 0.5 * i(k); }, {}, "i32*0.5"));

  const auto i2 = i * 2;
  static_assert(std::is_same_v<value_t<decltype(i2)>, std::int32_t>, "i32 * int stays i32");
  LOOM_CHECK_REPORT(compare_with(
      i2, [&](std::size_t k) { return 2.0 * i(k); }, {}, "i32*2"));

  const auto d2 = d * 2.0f;
  static_assert(std::is_same_v<value_t<decltype(d2)>, double>, "f64 * float stays f64");
  LOOM_CHECK_REPORT(compare_with(
      d2, [&](std::size_t k) { return 2.0 * d(k); }, {}, "f64*2.0f"));

  const auto bt = b + true;
  static_assert(std::is_same_v<value_t<decltype(bt)>, std::int32_t>, "bool + true is i32");
  LOOM_CHECK_REPORT(compare_with(
      bt, [&](std::size_t k) { return b(k) ? 2.0 : 1.0; }, {}, "bool+true"));

  const auto lt = f < 0.5;
  static_assert(std::is_same_v<value_t<decltype(lt)>, bool>);
  LOOM_CHECK_REPORT(compare_with(
      lt, [&](std::size_t k) { return f(k) < 0.5f ? 1.0 : 0.0; }, {}, "f32<0.5"));

  // The scalar is rounded to the tensor's dtype first: 0.1 becomes 0.1f, not a double 0.1.
  vec<float> one(1);
  one(0) = 1.0f;
  const auto tenth = one * 0.1;
  CHECK(tenth(0) == 0.1f);
}

// --- fused models -----------------------------------------------------------------------------

namespace {

// Every binary op, with scalars, in one expression that one fused pass evaluates.
const auto all_binary = [](const auto& a, const auto& b) {
  return loom::maximum(a, b) * (a - b) + loom::minimum(a, 0.5f) / (loom::abs(b) + 1.0f) +
         loom::pow(loom::abs(a) + 1.0f, b * 0.25f);
};

double all_binary_ref(double a, double b) {
  // The scalars as the model sees them: already f32.
  return std::max(a, b) * (a - b) + std::min(a, 0.5) / (std::abs(b) + 1) +
         std::pow(std::abs(a) + 1, b * double(0.25f));
}

// Sum of the magnitudes of all_binary's terms, the scale of its rounding errors.
double all_binary_scale(double a, double b) {
  return std::abs(std::max(a, b) * (a - b)) + std::abs(std::min(a, 0.5) / (std::abs(b) + 1)) +
         std::pow(std::abs(a) + 1, b * double(0.25f));
}

// Comparisons and selections only: exact in any execution order.
const auto select_model = [](const auto& a, const auto& b) {
  return loom::where(a < b, a * 2.0f, b) + loom::cast<float>(a >= b);
};

}  // namespace

TEST_CASE("a fused model of binary ops matches the reference and eager execution",
          "[ops][binary][fused]") {
  using in = loom::input<float, loom::extents<dyn>>;
  auto model = loom::compile(all_binary, in{}, in{});
  auto select = loom::compile(select_model, in{}, in{});
  static_assert(decltype(model)::kernel_count == 1);
  std::uint32_t seed = 7000;
  for (std::size_t n : loom_test::sizes) {
    vec<float> a(n), b(n);
    loom_test::fill_normal(a, seed++, 0, 3);
    loom_test::fill_normal(b, seed++, 0, 3);
    const auto fused = model(a, b);
    const auto eager = all_binary(a, b);
    const auto scale = [&](std::size_t i) {
      return all_binary_scale(a(i), b(i));
    };
    // Three terms with float intermediates: products and quotients a few ulps each, pow
    // ~1e-6 relative of its term; 2e-6 of the terms' magnitudes bounds the sum.
    LOOM_CHECK_REPORT(compare_scaled(
        fused,
        [&](std::size_t i) { return all_binary_ref(a(i), b(i)); },
        scale,
        {2e-6, 0},
        "fused binary n=" + std::to_string(n)));
    // The fused loop may contract a product and a sum into one FMA where eager rounds the
    // product first: one rounding of a term apart, 2 ulps of the scale allow it.
    LOOM_CHECK_REPORT(compare_scaled(
        fused,
        [&](std::size_t i) { return eager(i); },
        scale,
        {2 * eps_f, 0},
        "fused vs eager n=" + std::to_string(n)));
    LOOM_CHECK_REPORT(compare_same(
        select(a, b), select_model(a, b), "fused vs eager select n=" + std::to_string(n)));
  }
}

TEST_CASE("mixed dtypes promote inside traced models as they do eagerly",
          "[ops][binary][fused][dtype]") {
  const auto mixed = [](const auto& i, const auto& f) {
    return i / 3 + f * i;
  };
  auto model = loom::compile(mixed,
                             loom::input<std::int32_t, loom::extents<dyn>>{},
                             loom::input<float, loom::extents<dyn>>{});
  vec<std::int32_t> i(1000);
  vec<float> f(1000);
  loom_test::fill_int(i, 7100, -100, 100);
  loom_test::fill_normal(f, 7101, 0, 1);
  const auto fused = model(i, f);
  static_assert(std::is_same_v<value_t<decltype(fused)>, float>, "i32 / int is f32 division");
  // i / 3 rounds once and f * i once; the sum rounds (or fuses with the product) once more.
  const auto scale = [&](std::size_t k) {
    return std::abs(i(k) / 3.0) + std::abs(f(k) * i(k));
  };
  LOOM_CHECK_REPORT(compare_scaled(
      fused,
      [&](std::size_t k) { return i(k) / 3.0 + double(f(k)) * i(k); },
      scale,
      {4 * eps_f, 0},
      "i32/3 + f32*i32"));
  const auto eager = mixed(i, f);
  LOOM_CHECK_REPORT(compare_scaled(
      fused, [&](std::size_t k) { return eager(k); }, scale, {2 * eps_f, 0}, "fused vs eager"));
}

// Fused code may contract a*b + c into one FMA, which rounds once where eager mode rounds
// twice; the user's flags decide (GCC contracts at -O2 with FMA hardware, not at -O0 or with
// -ffp-contract=off), so both must pass. Contracted, the fused result is within half an ulp of
// the exact value; not, within half an ulp of the product and half an ulp of the sum. The
// documented contract: eager differs from fused by at most the rounding of the product (and
// of the sum).
TEST_CASE("a fused multiply-add agrees with the eager chain within an ulp",
          "[ops][binary][fused]") {
  const auto fma_like = [](const auto& a, const auto& b) {
    return a * b + a;
  };
  using in = loom::input<float, loom::extents<dyn>>;
  auto model = loom::compile(fma_like, in{}, in{});
  vec<float> a(1000), b(1000);
  loom_test::fill_normal(a, 7200, 0, 1);
  loom_test::fill_normal(b, 7201, 0, 1);
  const auto fused = model(a, b);
  const auto eager = fma_like(a, b);
  for (std::size_t k = 0; k < a.size(); ++k) {
    const auto ulp = [](double v) {
      const float f = std::abs(float(v));
      return double(std::nextafter(f, INFINITY) - f);
    };
    const double product = double(a(k)) * b(k), exact = product + a(k);
    REQUIRE(std::abs(double(fused(k)) - exact) <= ulp(product) / 2 + ulp(exact));
    REQUIRE(std::abs(double(fused(k)) - double(eager(k))) <= ulp(product) + ulp(exact));
  }
}

// i32 overflow wraps modulo 2^32 in SIMD blocks and scalar tails alike (and is not undefined
// behaviour in either).
TEST_CASE("i32 arithmetic wraps around", "[ops][binary][dtype]") {
  constexpr std::int32_t lo = std::numeric_limits<std::int32_t>::min();
  constexpr std::int32_t hi = std::numeric_limits<std::int32_t>::max();
  vec<std::int32_t> a(65), b(65);
  a.fill(hi);
  b.fill(1);
  a(64) = hi;  // the scalar tail
  a(0) = lo;
  const auto sum = a + b, diff = a - b * 2, prod = a * 2, negated = -a, absolute = loom::abs(a);
  CHECK(sum(1) == lo);
  CHECK(sum(64) == lo);
  CHECK(diff(0) == hi - 1);
  CHECK(prod(64) == -2);
  CHECK(negated(0) == lo);
  CHECK(absolute(0) == lo);
  CHECK(absolute(64) == hi);
}
