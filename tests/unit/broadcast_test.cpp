// NumPy broadcasting: static and dynamic extents, rank 0, run-time shape errors, and fused
// multi-op models over broadcast operands, against reference loops over the output's
// index space.
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

using Catch::Matchers::Contains;
using loom::dyn;
using loom::extents;
using namespace loom_test;

namespace {

// One correctly rounded float operation: within half an ulp of the double reference.
constexpr tolerance rounded{eps_f, 0};

// Checks `out` against ref(a element, b element) for every element of the output, reading
// the operands through the test's own broadcasting index map.
template <class Out, class A, class B, class Ref>
loom_test::report against_broadcast(
    const Out& out, const A& a, const B& b, Ref ref, tolerance tol, std::string what) {
  return compare_with(
      out,
      [&](std::size_t i) {
        return ref(loom_test::broadcast_read(a, out.shape(), i),
                   loom_test::broadcast_read(b, out.shape(), i));
      },
      tol,
      std::move(what));
}

const auto add_ref = [](double x, double y) {
  return x + y;
};

}  // namespace

TEST_CASE("[3,1] with [1,4] broadcasts to [3,4], static and dynamic", "[ops][broadcast]") {
  SECTION("static extents give static result extents") {
    ftensor<extents<3, 1>> a;
    ftensor<extents<1, 4>> b;
    loom_test::fill_normal(a, 100, 0, 1);
    loom_test::fill_normal(b, 101, 0, 1);
    const auto c = a + b;
    static_assert(std::is_same_v<extents_of<decltype(c)>, extents<3, 4>>);
    REQUIRE(c.shape() == make_shape({3, 4}));
    CHECK(c.shape().rank == 2);
    CHECK(c.shape().dims[0] == 3);
    CHECK(c.shape().dims[1] == 4);
    CHECK(c.shape().to_string() == "[3, 4]");
    CHECK(c.size() == 12);
    // Spelled out once with two indices, as the rule reads: c(i, j) = a(i, 0) + b(0, j).
    for (std::size_t i = 0; i < 3; ++i)
      for (std::size_t j = 0; j < 4; ++j) {
        INFO("c(" << i << ", " << j << ")");
        CHECK(c(i, j) == a(i, 0) + b(0, j));
      }
  }
  SECTION("dynamic extents broadcast at run time, for every kind of op") {
    mat a(3, 1), b(1, 4);
    loom_test::fill_normal(a, 102, 0, 2);
    loom_test::fill_normal(b, 103, 0, 2);
    const auto sum = a + b;
    const auto prod = a * b;
    const auto hi = loom::maximum(a, b);
    const auto lt = a < b;
    const auto sel = loom::where(a < b, a, b);
    static_assert(std::is_same_v<extents_of<decltype(sum)>, extents<dyn, dyn>>);
    static_assert(std::is_same_v<decltype(lt)::value_type, bool>);
    for (const loom::shape& s : {sum.shape(), prod.shape(), hi.shape(), lt.shape(), sel.shape()})
      CHECK(s == make_shape({3, 4}));
    LOOM_CHECK_REPORT(against_broadcast(sum, a, b, add_ref, rounded, "a + b"));
    LOOM_CHECK_REPORT(against_broadcast(
        prod, a, b, [](double x, double y) { return x * y; }, rounded, "a * b"));
    LOOM_CHECK_REPORT(against_broadcast(
        hi, a, b, [](double x, double y) { return std::max(x, y); }, {}, "maximum"));
    LOOM_CHECK_REPORT(against_broadcast(
        lt, a, b, [](double x, double y) { return x < y ? 1.0 : 0.0; }, {}, "a < b"));
    LOOM_CHECK_REPORT(against_broadcast(
        sel, a, b, [](double x, double y) { return x < y ? x : y; }, {}, "where"));
    // Broadcasting is symmetric in shape.
    LOOM_CHECK_REPORT(compare_same(b + a, sum, "b + a vs a + b"));
  }
}

TEST_CASE("[2,3,4] broadcasts with [4], [3,1] and [2,1,4]", "[ops][broadcast]") {
  cube x(2, 3, 4), d(2, 1, 4);
  vec<float> r(4);
  mat c(3, 1);
  loom_test::fill_normal(x, 200, 0, 1);
  loom_test::fill_normal(d, 201, 0, 1);
  loom_test::fill_normal(r, 202, 0, 1);
  loom_test::fill_normal(c, 203, 0, 1);
  const auto full = make_shape({2, 3, 4});

  const auto xr = x + r;
  const auto rx = r + x;
  const auto xc = x * c;
  const auto xd = x - d;
  static_assert(std::is_same_v<extents_of<decltype(xr)>, extents<dyn, dyn, dyn>>);
  static_assert(std::is_same_v<extents_of<decltype(rx)>, extents<dyn, dyn, dyn>>);
  for (const loom::shape& s : {xr.shape(), rx.shape(), xc.shape(), xd.shape()}) CHECK(s == full);
  LOOM_CHECK_REPORT(against_broadcast(xr, x, r, add_ref, rounded, "[2,3,4] + [4]"));
  LOOM_CHECK_REPORT(against_broadcast(rx, r, x, add_ref, rounded, "[4] + [2,3,4]"));
  LOOM_CHECK_REPORT(against_broadcast(
      xc, x, c, [](double a, double b) { return a * b; }, rounded, "[2,3,4] * [3,1]"));
  LOOM_CHECK_REPORT(against_broadcast(
      xd, x, d, [](double a, double b) { return a - b; }, rounded, "[2,3,4] - [2,1,4]"));
  // A few elements by hand, so the reference map itself is checked against the rule.
  CHECK(xc(1, 2, 3) == x(1, 2, 3) * c(2, 0));
  CHECK(xd(1, 2, 3) == x(1, 2, 3) - d(1, 0, 3));
  CHECK(xr(0, 1, 2) == x(0, 1, 2) + r(2));

  SECTION("the same with static extents") {
    ftensor<extents<2, 3, 4>> xs;
    ftensor<extents<4>> rs;
    ftensor<extents<3, 1>> cs;
    std::copy(x.begin(), x.end(), xs.begin());
    std::copy(r.begin(), r.end(), rs.begin());
    std::copy(c.begin(), c.end(), cs.begin());
    const auto sr = xs + rs;
    const auto sc = xs + cs;
    static_assert(std::is_same_v<extents_of<decltype(sr)>, extents<2, 3, 4>>);
    static_assert(std::is_same_v<extents_of<decltype(sc)>, extents<2, 3, 4>>);
    LOOM_CHECK_REPORT(compare_same(sr, xr, "static [2,3,4] + [4] vs dynamic"));
    LOOM_CHECK_REPORT(against_broadcast(sc, xs, cs, add_ref, rounded, "static [2,3,4] + [3,1]"));
  }
}

TEST_CASE("rank-0 tensors broadcast against every shape", "[ops][broadcast][rank0]") {
  ftensor<extents<>> s;
  s() = 1.5f;
  CHECK(s.size() == 1);
  CHECK(s.shape().rank == 0);
  CHECK(s.shape().to_string() == "[]");

  vec<float> v(1000);
  cube x(2, 3, 4);
  loom_test::fill_normal(v, 300, 0, 1);
  loom_test::fill_normal(x, 301, 0, 1);

  const auto vs = v + s;
  static_assert(std::is_same_v<extents_of<decltype(vs)>, extents<dyn>>);
  CHECK(vs.shape() == v.shape());
  LOOM_CHECK_REPORT(against_broadcast(vs, v, s, add_ref, rounded, "[1000] + []"));

  const auto sx = s * x;
  CHECK(sx.shape() == x.shape());
  LOOM_CHECK_REPORT(against_broadcast(
      sx, s, x, [](double a, double b) { return a * b; }, rounded, "[] * [2,3,4]"));

  const auto ss = s * s;
  const auto es = loom::exp(s);
  static_assert(std::is_same_v<extents_of<decltype(ss)>, extents<>>);
  static_assert(std::is_same_v<extents_of<decltype(es)>, extents<>>);
  CHECK(ss.shape().rank == 0);
  CHECK(ss() == 2.25f);
  CHECK(es() == Approx(std::exp(1.5)).epsilon(1e-6));

  SECTION("a rank-0 model input") {
    auto model = loom::compile([](const auto& k, const auto& t) { return t * k + k; },
                               loom::input<float, extents<>>{},
                               loom::input<float, extents<dyn>>{});
    const auto y = model(s, v);
    CHECK(y.shape() == v.shape());
    // t * k + k rounds twice, or once where the compiler contracts it into an FMA (the
    // user's flags decide: GCC does at -O2 with FMA hardware, not at -O0): either way within
    // an ulp of |t k| + |k|, which a bound relative to the (possibly cancelling) result is not.
    LOOM_CHECK_REPORT(compare_scaled(
        y,
        [&](std::size_t i) { return v(i) * 1.5 + 1.5; },
        [&](std::size_t i) { return std::abs(v(i) * 1.5) + 1.5; },
        {2 * eps_f, 0},
        "t * k + k"));
  }
}

TEST_CASE("dynamic extents broadcast at run time, at every size", "[ops][broadcast]") {
  struct pair_case {
    loom::shape a, b, out;
  };
  // Column and row vectors, all-ones shapes, zero extents, and outputs above 2^16 elements
  // in several layouts: one long row (split over threads within the row), many short rows
  // (scalar tails only), and rows that are not a multiple of the 64-element block.
  const std::vector<pair_case> cases{
      {make_shape({3, 1}), make_shape({1, 4}), make_shape({3, 4})},
      {make_shape({1, 1}), make_shape({5, 7}), make_shape({5, 7})},
      {make_shape({5, 7}), make_shape({1, 1}), make_shape({5, 7})},
      {make_shape({5, 7}), make_shape({5, 1}), make_shape({5, 7})},
      {make_shape({1, 7}), make_shape({5, 7}), make_shape({5, 7})},
      {make_shape({5, 7}), make_shape({5, 7}), make_shape({5, 7})},
      {make_shape({1, 1}), make_shape({1, 1}), make_shape({1, 1})},
      {make_shape({0, 4}), make_shape({1, 4}), make_shape({0, 4})},
      {make_shape({4, 1}), make_shape({1, 0}), make_shape({4, 0})},
      {make_shape({64, 1}), make_shape({1, 65}), make_shape({64, 65})},
      {make_shape({1, 70001}), make_shape({1, 1}), make_shape({1, 70001})},
      {make_shape({300, 250}), make_shape({1, 250}), make_shape({300, 250})},
      {make_shape({3, 30000}), make_shape({3, 1}), make_shape({3, 30000})},
      {make_shape({70001, 3}), make_shape({1, 3}), make_shape({70001, 3})},
      {make_shape({2, 70001}), make_shape({2, 70001}), make_shape({2, 70001})},
  };
  auto fused = loom::compile(
      [](const auto& a, const auto& b) { return loom::sigmoid(a) * b + loom::maximum(a, b); },
      loom::input<float, extents<dyn, dyn>>{},
      loom::input<float, extents<dyn, dyn>>{});
  // Correctly rounded ops only, and no product and sum, which the compiler may contract in
  // the fused loop: eager mode's op-by-op loops and the fused one then give the same bits,
  // whichever elements each walks in SIMD blocks. (exp, say, is not: an element of a
  // broadcast operand may take the SIMD path in one and the scalar tail in the other.)
  const auto no_fma = [](const auto& a, const auto& b) {
    return loom::maximum(a, b) / b - loom::abs(a);
  };
  auto fused_no_fma = loom::compile(
      no_fma, loom::input<float, extents<dyn, dyn>>{}, loom::input<float, extents<dyn, dyn>>{});
  std::uint32_t seed = 400;
  for (const auto& c : cases) {
    const std::string what = c.a.to_string() + " with " + c.b.to_string();
    mat a(c.a), b(c.b);
    loom_test::fill_normal(a, seed++, 0, 2);
    loom_test::fill_normal(b, seed++, 0, 2);
    const auto sum = a + b;
    CHECK(sum.shape() == c.out);
    LOOM_CHECK_REPORT(against_broadcast(sum, a, b, add_ref, rounded, what + " add"));

    const auto y = fused(a, b);
    CHECK(y.shape() == c.out);
    // sigmoid (2e-7 absolute) times |b|, a product and a sum: 1e-6 of the terms' magnitudes.
    LOOM_CHECK_REPORT(compare_scaled(
        y,
        [&](std::size_t i) {
          const double x = loom_test::broadcast_read(a, c.out, i);
          const double z = loom_test::broadcast_read(b, c.out, i);
          return z / (1 + std::exp(-x)) + std::max(x, z);
        },
        [&](std::size_t i) {
          return std::abs(loom_test::broadcast_read(b, c.out, i)) +
                 std::abs(loom_test::broadcast_read(a, c.out, i)) + 1;
        },
        {1e-6, 0},
        what + " fused"));
    LOOM_CHECK_REPORT(compare_same(no_fma(a, b), fused_no_fma(a, b), what + " eager vs fused"));
  }
}

TEST_CASE("an op on a broadcast operand: eager and fused agree within its SIMD form's error",
          "[ops][broadcast][eager]") {
  // exp(a) with a of [64, 1] in a pass over [64, 65]: fused code computes it per element of
  // the pass, so column 64 (no whole block of 64) takes the scalar exp; eager mode computes it
  // once per element of a, in one SIMD block. The guide allows the two to differ by the SIMD
  // form's error: within 1.26 ulp for loom's AVX-512 exp, about 2 ulp for Eigen's; a product
  // adds half an ulp to each. 4 ulp of the result.
  const auto model = [](const auto& a, const auto& b) {
    return loom::exp(a) * b;
  };
  auto fused = loom::compile(
      model, loom::input<float, extents<dyn, dyn>>{}, loom::input<float, extents<dyn, dyn>>{});
  mat a(make_shape({64, 1})), b(make_shape({1, 65}));
  loom_test::fill_normal(a, 470, 0, 3);
  loom_test::fill_normal(b, 471, 0, 2);
  const auto eager = model(a, b);
  const auto got = fused(a, b);
  REQUIRE(got.shape() == make_shape({64, 65}));
  LOOM_CHECK_REPORT(compare_with(
      got,
      [&](std::size_t i) { return double(eager.data()[i]); },
      {4 * eps_f, 0},
      "fused vs eager"));
}

TEST_CASE("rank-4 operands broadcast on interleaved axes", "[ops][broadcast]") {
  hyper a(2, 1, 3, 1), b(1, 4, 1, 65);
  loom_test::fill_normal(a, 450, 0, 1);
  loom_test::fill_normal(b, 451, 0, 1);
  const auto c = a + b;
  REQUIRE(c.shape() == make_shape({2, 4, 3, 65}));
  LOOM_CHECK_REPORT(against_broadcast(c, a, b, add_ref, rounded, "[2,1,3,1] + [1,4,1,65]"));
  CHECK(c(1, 3, 2, 64) == a(1, 0, 2, 0) + b(0, 3, 0, 64));
}

TEST_CASE("a run-time mismatch throws shape_error naming both shapes", "[ops][broadcast][errors]") {
  vec<float> a3(3), a4(4), a1(1);
  loom_test::fill_normal(a3, 500, 0, 1);
  loom_test::fill_normal(a4, 501, 0, 1);
  loom_test::fill_normal(a1, 502, 0, 1);

  CHECK_THAT(shape_error_message([&] { (void)(a3 + a4); }), Contains("[3]") && Contains("[4]"));
  CHECK_THAT(shape_error_message([&] { (void)(a3 < a4); }), Contains("[3]") && Contains("[4]"));
  vec<bool> c3(3);
  loom_test::fill_bool(c3, 503);
  CHECK_THAT(shape_error_message([&] { (void)loom::where(c3, a4, a4); }),
             Contains("[3]") && Contains("[4]"));

  mat m23(2, 3), m32(3, 2);
  loom_test::fill_normal(m23, 504, 0, 1);
  loom_test::fill_normal(m32, 505, 0, 1);
  CHECK_THAT(shape_error_message([&] { (void)(m23 * m32); }),
             Contains("[2, 3]") && Contains("[3, 2]"));

  // A zero extent broadcasts only against 1 or 0.
  vec<float> a0(0);
  CHECK_THAT(shape_error_message([&] { (void)(a0 + a3); }), Contains("[0]") && Contains("[3]"));
  CHECK((a0 + a1).size() == 0);

  SECTION("inside a compiled model, where the mismatch is past the first op") {
    auto model =
        loom::compile([](const auto& x, const auto& y, const auto& z) { return x * y + z; },
                      loom::input<float, extents<dyn>>{},
                      loom::input<float, extents<dyn>>{},
                      loom::input<float, extents<dyn>>{});
    // [3] * [1] is fine; adding [4] is not.
    CHECK_THAT(shape_error_message([&] { (void)model(a3, a1, a4); }),
               Contains("[3]") && Contains("[4]"));
    // The same model accepts the shapes that do broadcast.
    const auto ok = model(a3, a1, a1);
    CHECK(ok.shape() == make_shape({3}));
  }
  SECTION("a static extent against a dynamic one of another size") {
    ftensor<extents<4>> s4;
    loom_test::fill_normal(s4, 506, 0, 1);
    vec<float> a5(5);
    CHECK_THAT(shape_error_message([&] { (void)(s4 + a5); }), Contains("[4]") && Contains("[5]"));
  }
}

namespace {

// Three inputs of different ranks broadcast to [n, m, k] inside one fused pass:
// a is [n, 1, k], b is [m, 1], c is [k].
const auto broadcast_model = [](const auto& a, const auto& b, const auto& c) {
  return a * b + loom::sigmoid(c) - loom::maximum(a, c) / (loom::abs(b) + 1.0f);
};

}  // namespace

TEST_CASE("broadcasting inside a fused multi-op model matches a reference loop",
          "[ops][broadcast][fused]") {
  auto model = loom::compile(broadcast_model,
                             loom::input<float, extents<dyn, dyn, dyn>>{},
                             loom::input<float, extents<dyn, dyn>>{},
                             loom::input<float, extents<dyn>>{});
  static_assert(decltype(model)::kernel_count == 1, "broadcast operands still fuse");
  struct dims {
    std::size_t n, m, k;
  };
  // (7, 100, 101) is 70700 elements: the threaded path, with rows of 101 (a block and a
  // tail each).
  const std::vector<dims> cases{
      {2, 3, 5}, {1, 1, 1}, {4, 64, 65}, {3, 2, 0}, {7, 100, 101}, {1, 1, 70001}};
  std::uint32_t seed = 600;
  for (const dims& d : cases) {
    const std::string what =
        "[" + std::to_string(d.n) + ", " + std::to_string(d.m) + ", " + std::to_string(d.k) + "]";
    cube a(d.n, 1, d.k);
    mat b(d.m, 1);
    vec<float> c(d.k);
    loom_test::fill_normal(a, seed++, 0, 2);
    loom_test::fill_normal(b, seed++, 0, 2);
    loom_test::fill_normal(c, seed++, 0, 2);
    const auto y = model(a, b, c);
    REQUIRE(y.shape() == make_shape({d.n, d.m, d.k}));

    // The reference walks the output's index space with one loop per axis.
    std::vector<double> want(y.size()), scale(y.size());
    for (std::size_t i = 0; i < d.n; ++i)
      for (std::size_t j = 0; j < d.m; ++j)
        for (std::size_t l = 0; l < d.k; ++l) {
          const double av = a(i, 0, l), bv = b(j, 0), cv = c(l);
          const std::size_t at = (i * d.m + j) * d.k + l;
          want[at] = av * bv + 1 / (1 + std::exp(-cv)) - std::max(av, cv) / (std::abs(bv) + 1);
          scale[at] = std::abs(av * bv) + 1 + std::abs(std::max(av, cv));
        }
    // Three terms, float intermediates, sigmoid's 2e-7 absolute: 1e-6 of their magnitudes.
    LOOM_CHECK_REPORT(compare_scaled(
        y,
        [&](std::size_t i) { return want[i]; },
        [&](std::size_t i) { return scale[i]; },
        {1e-6, 0},
        what + " fused vs reference"));
    // Eager may round a * b before the add that the fused loop contracts into an FMA.
    const auto eager = broadcast_model(a, b, c);
    LOOM_CHECK_REPORT(compare_scaled(
        y,
        [&](std::size_t i) { return eager.data()[i]; },
        [&](std::size_t i) { return scale[i]; },
        {2 * eps_f, 0},
        what + " fused vs eager"));

    // Element-wise work split over threads must not change a single bit.
    auto single = model;
    single.set_threads(1);
    LOOM_CHECK_REPORT(compare_same(single(a, b, c), y, what + " one thread vs default"));
  }
}

TEST_CASE("static extents mix with dynamic ones", "[ops][broadcast][static]") {
  ftensor<extents<3, 4>> s;
  loom_test::fill_normal(s, 700, 0, 1);

  SECTION("dyn against a static extent takes the static one") {
    ftensor<extents<dyn, 4>> row(1, 4), full(3, 4);
    loom_test::fill_normal(row, 701, 0, 1);
    loom_test::fill_normal(full, 702, 0, 1);
    const auto r = s + row;
    const auto f = s + full;
    static_assert(std::is_same_v<extents_of<decltype(r)>, extents<3, 4>>,
                  "a dyn extent meeting 3 must be 3 or 1 at run time, so the result is 3");
    CHECK(r.shape() == make_shape({3, 4}));
    LOOM_CHECK_REPORT(against_broadcast(r, s, row, add_ref, rounded, "[3,4] + [1(dyn),4]"));
    LOOM_CHECK_REPORT(against_broadcast(f, s, full, add_ref, rounded, "[3,4] + [3(dyn),4]"));
  }
  SECTION("static 1 against dyn keeps dyn") {
    ftensor<extents<dyn, 1>> col(5, 1);
    ftensor<extents<1, 4>> row;
    loom_test::fill_normal(col, 703, 0, 1);
    loom_test::fill_normal(row, 704, 0, 1);
    const auto c = col * row;
    static_assert(std::is_same_v<extents_of<decltype(c)>, extents<dyn, 4>>);
    CHECK(c.shape() == make_shape({5, 4}));
    LOOM_CHECK_REPORT(against_broadcast(
        c, col, row, [](double a, double b) { return a * b; }, rounded, "[5(dyn),1] * [1,4]"));
  }
  SECTION("a dynamic vector against [3,4]: 4 and 1 broadcast, 5 throws") {
    vec<float> v4(4), v1(1), v5(5);
    loom_test::fill_normal(v4, 705, 0, 1);
    loom_test::fill_normal(v1, 706, 0, 1);
    const auto a = s - v4;
    const auto b = s - v1;
    static_assert(std::is_same_v<extents_of<decltype(a)>, extents<3, 4>>);
    const auto sub = [](double x, double y) {
      return x - y;
    };
    LOOM_CHECK_REPORT(against_broadcast(a, s, v4, sub, rounded, "[3,4] - [4(dyn)]"));
    LOOM_CHECK_REPORT(against_broadcast(b, s, v1, sub, rounded, "[3,4] - [1(dyn)]"));
    CHECK_THAT(shape_error_message([&] { (void)(s - v5); }), Contains("[3, 4]") && Contains("[5]"));
  }
  SECTION("a compiled model over static and dynamic inputs") {
    auto model = loom::compile([](const auto& x, const auto& y) { return loom::relu(x * y); },
                               loom::input<float, extents<dyn, 4>>{},
                               loom::input<float, extents<3, 1>>{});
    using out = decltype(model)::output_tensor<0>;
    static_assert(std::is_same_v<out::extents_type, extents<3, 4>>);
    ftensor<extents<3, 1>> col;
    ftensor<extents<dyn, 4>> one(1), three(3), two(2);
    loom_test::fill_normal(col, 707, 0, 1);
    loom_test::fill_normal(one, 708, 0, 1);
    loom_test::fill_normal(three, 709, 0, 1);
    loom_test::fill_normal(two, 710, 0, 1);
    const auto relu_mul = [](double x, double y) {
      return std::max(x * y, 0.0);
    };
    LOOM_CHECK_REPORT(
        against_broadcast(model(one, col), one, col, relu_mul, rounded, "[1,4] x [3,1]"));
    LOOM_CHECK_REPORT(
        against_broadcast(model(three, col), three, col, relu_mul, rounded, "[3,4] x [3,1]"));
    CHECK_THAT(shape_error_message([&] { (void)model(two, col); }),
               Contains("[2, 4]") && Contains("[3, 1]"));
  }
}
