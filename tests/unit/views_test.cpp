// Views: reshape, permute, transpose, broadcast_to and slice against references computed from
// indices, alone and composed, fused into element-wise consumers and reductions, over
// computed values, as outputs, eager and compiled.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "test_support.hpp"

using Catch::Matchers::Contains;
using loom::dyn;
using loom::extents;
using loom::ops::slice_end;
using namespace loom_test;

namespace {

// --- references --------------------------------------------------------------------------------

// The elements of a view of `x` with shape `out`, in row-major order: element `i` of the
// view is element source(i) of x (both as multi-indices).
template <class Tensor, class Source>
std::vector<double> gather(const Tensor& x, const loom::shape& out, Source source) {
  std::vector<double> r(out.size());
  for (std::size_t flat = 0; flat < out.size(); ++flat)
    r[flat] = static_cast<double>(x.data()[flatten(x.shape(), source(unflatten(out, flat)))]);
  return r;
}

// Axis d of the result is axis order[d] of x.
template <class Tensor>
std::vector<double> permuted(const Tensor& x, const std::vector<std::size_t>& order) {
  loom::shape out;
  out.rank = x.shape().rank;
  for (std::size_t d = 0; d < out.rank; ++d) out.dims[d] = x.shape().dims[order[d]];
  return gather(x, out, [&](const index_t& i) {
    index_t j{};
    for (std::size_t d = 0; d < out.rank; ++d) j[order[d]] = i[d];
    return j;
  });
}

// The indices Python's range(*slice(begin, end, step).indices(n)) visits, for step > 0: a
// negative bound counts from the end, then both are clamped to [0, n].
std::vector<std::size_t> python_slice(std::size_t n,
                                      std::ptrdiff_t begin,
                                      std::ptrdiff_t end,
                                      std::ptrdiff_t step) {
  const auto size = static_cast<std::ptrdiff_t>(n);
  const auto adjust = [&](std::ptrdiff_t i) {
    if (i < 0) i = std::max<std::ptrdiff_t>(i + size, 0);
    return std::min(i, size);
  };
  std::vector<std::size_t> r;
  for (std::ptrdiff_t i = adjust(begin); i < adjust(end); i += step) r.push_back(std::size_t(i));
  return r;
}

template <class Tensor>
std::vector<double> sliced(const Tensor& x,
                           std::size_t axis,
                           std::ptrdiff_t begin,
                           std::ptrdiff_t end,
                           std::ptrdiff_t step,
                           loom::shape& out) {
  const std::vector<std::size_t> kept = python_slice(x.shape().dims[axis], begin, end, step);
  out = x.shape();
  out.dims[axis] = kept.size();
  return gather(x, out, [&](index_t i) {
    i[axis] = kept[i[axis]];
    return i;
  });
}

// Element-wise values are exact copies, so views compare exactly (NaN-aware).
template <class Got>
loom_test::report matches(const Got& got,
                          const loom::shape& shape,
                          const std::vector<double>& want,
                          const std::string& what) {
  if (!(got.shape() == shape)) return loom_test::shapes_differ(what, got.shape(), shape);
  return compare_with(
      got, [&](std::size_t i) { return want[i]; }, {}, what);
}

// Checks the result `run` returns; an exception fails the check instead of the test case.
template <class Run>
void expect(Run&& run,
            const loom::shape& shape,
            const std::vector<double>& want,
            const std::string& what) {
  try {
    LOOM_CHECK_REPORT(matches(run(), shape, want, what));
  } catch (const loom::error& e) {
    FAIL_CHECK(what << " threw: " << e.what());
  }
}

// Runs `view` (a model of one input) compiled and eagerly on x and checks both.
template <class View, class X>
void check_view(View view,
                const X& x,
                const loom::shape& shape,
                const std::vector<double>& want,
                const std::string& what) {
  auto model = loom::compile(view, loom::input<typename X::value_type, typename X::extents_type>{});
  expect([&] { return model(x); }, shape, want, what + " (compiled)");
  expect([&] { return view(x); }, shape, want, what + " (eager)");
}

// Element i holds i: a mismatch then names the element that was read.
template <class Tensor>
Tensor iota(Tensor t) {
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<float>(i);
  return t;
}

}  // namespace

TEST_CASE("reshape keeps the row-major order and infers one dyn extent", "[views][reshape]") {
  const cube x = iota(cube(2, 3, 4));
  std::vector<double> flat(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) flat[i] = i;

  check_view([](const auto& x) { return loom::reshape<extents<4, 6>>(x); },
             x,
             make_shape({4, 6}),
             flat,
             "reshape [2,3,4] to [4, 6]");
  check_view([](const auto& x) { return loom::reshape<extents<dyn, 6>>(x); },
             x,
             make_shape({4, 6}),
             flat,
             "reshape to [?, 6]");
  check_view([](const auto& x) { return loom::reshape<extents<2, dyn, 2>>(x); },
             x,
             make_shape({2, 6, 2}),
             flat,
             "reshape to [2, ?, 2]");
  check_view([](const auto& x) { return loom::reshape<extents<dyn>>(x); },
             x,
             make_shape({24}),
             flat,
             "reshape to [?]");
  check_view([](const auto& x) { return loom::reshape<extents<1, 2, 1, dyn>>(x); },
             x,
             make_shape({1, 2, 1, 12}),
             flat,
             "reshape to rank 4");

  // An empty operand reshapes to an empty result; a single element to rank 0.
  check_view([](const auto& x) { return loom::reshape<extents<dyn, 6>>(x); },
             cube(0, 3, 4),
             make_shape({0, 6}),
             {},
             "reshape [0,3,4] to [?, 6]");
  ftensor<extents<dyn, dyn>> one(1, 1);
  one(0, 0) = 5.f;
  check_view([](const auto& x) { return loom::reshape<extents<>>(x); },
             one,
             loom::shape{},
             {5.0},
             "reshape [1, 1] to []");

  SECTION("static extents") {
    const loom::placeholder<0, float, extents<2, 3, 4>> p;
    const loom::placeholder<0, float, extents<dyn, 3, 4>> q;
    static_assert(
        std::is_same_v<extents_of<decltype(loom::reshape<extents<dyn, 6>>(p))>, extents<dyn, 6>>);
    static_assert(
        std::is_same_v<extents_of<decltype(loom::reshape<extents<dyn, 12>>(q))>, extents<dyn, 12>>);
    ftensor<extents<2, 3, 4>> s = iota(ftensor<extents<2, 3, 4>>());
    check_view([](const auto& x) { return loom::reshape<extents<dyn, 6>>(x); },
               s,
               make_shape({4, 6}),
               flat,
               "static [2,3,4] to [?, 6]");
  }
  SECTION("element counts that do not fit throw shape_error naming both shapes") {
    const auto to_5 = [](const auto& x) {
      return loom::reshape<extents<dyn, 5>>(x);
    };
    const auto to_4_5 = [](const auto& x) {
      return loom::reshape<extents<4, 5>>(x);
    };
    auto model_5 = loom::compile(to_5, loom::input<float, extents<dyn, dyn, dyn>>{});
    auto model_4_5 = loom::compile(to_4_5, loom::input<float, extents<dyn, dyn, dyn>>{});
    for (const std::string& message : {shape_error_message([&] { (void)to_5(x); }),
                                       shape_error_message([&] { (void)model_5(x); })})
      CHECK_THAT(message, Contains("reshape") && Contains("[2, 3, 4]") && Contains("[?, 5]"));
    for (const std::string& message : {shape_error_message([&] { (void)to_4_5(x); }),
                                       shape_error_message([&] { (void)model_4_5(x); })})
      CHECK_THAT(message, Contains("[2, 3, 4]") && Contains("[4, 5]"));
  }
}

TEST_CASE("permute and transpose reorder axes", "[views][permute]") {
  const cube x = iota(cube(2, 3, 4));
  check_view([](const auto& x) { return loom::permute<2, 0, 1>(x); },
             x,
             make_shape({4, 2, 3}),
             permuted(x, {2, 0, 1}),
             "permute<2, 0, 1>");
  check_view([](const auto& x) { return loom::permute<1, 2, 0>(x); },
             x,
             make_shape({3, 4, 2}),
             permuted(x, {1, 2, 0}),
             "permute<1, 2, 0>");
  check_view([](const auto& x) { return loom::permute<0, 1, 2>(x); },
             x,
             x.shape(),
             permuted(x, {0, 1, 2}),
             "permute<0, 1, 2>");
  check_view([](const auto& x) { return loom::transpose(x); },
             x,
             make_shape({2, 4, 3}),
             permuted(x, {0, 2, 1}),
             "transpose of rank 3");

  // Rows of 65 and 64 columns: the transpose reads strided rows with a SIMD block and a tail.
  const mat m = iota(mat(64, 65));
  check_view([](const auto& x) { return loom::transpose(x); },
             m,
             make_shape({65, 64}),
             permuted(m, {1, 0}),
             "transpose of [64, 65]");
  const hyper h = iota(hyper(2, 3, 4, 5));
  check_view([](const auto& x) { return loom::permute<3, 1, 0, 2>(x); },
             h,
             make_shape({5, 3, 2, 4}),
             permuted(h, {3, 1, 0, 2}),
             "permute<3, 1, 0, 2>");
  check_view([](const auto& x) { return loom::transpose(x); },
             h,
             make_shape({2, 3, 5, 4}),
             permuted(h, {0, 1, 3, 2}),
             "transpose of rank 4");
  // Extents of 1 and 0.
  check_view([](const auto& x) { return loom::transpose(x); },
             iota(mat(1, 7)),
             make_shape({7, 1}),
             permuted(iota(mat(1, 7)), {1, 0}),
             "[1, 7]");
  check_view([](const auto& x) { return loom::transpose(x); },
             mat(0, 3),
             make_shape({3, 0}),
             {},
             "[0, 3]");

  const loom::placeholder<0, float, extents<2, dyn, 4>> p;
  static_assert(
      std::is_same_v<extents_of<decltype(loom::permute<2, 0, 1>(p))>, extents<4, 2, dyn>>);
  static_assert(std::is_same_v<extents_of<decltype(loom::transpose(p))>, extents<2, 4, dyn>>);
}

TEST_CASE("broadcast_to repeats along new and size-1 axes", "[views][broadcast_to]") {
  const mat column = iota(mat(3, 1));
  const loom_test::vec<float> row = iota(loom_test::vec<float>(4));
  const auto numpy = [](const auto& x, const loom::shape& out) {
    std::vector<double> r(out.size());
    for (std::size_t i = 0; i < out.size(); ++i) r[i] = loom_test::broadcast_read(x, out, i);
    return r;
  };
  check_view([](const auto& x) { return loom::broadcast_to<extents<2, 3, 4>>(x); },
             column,
             make_shape({2, 3, 4}),
             numpy(column, make_shape({2, 3, 4})),
             "[3, 1] to [2, 3, 4]");
  // dyn keeps the operand's extent.
  check_view([](const auto& x) { return loom::broadcast_to<extents<dyn, 5>>(x); },
             column,
             make_shape({3, 5}),
             numpy(column, make_shape({3, 5})),
             "[3, 1] to [?, 5]");
  check_view([](const auto& x) { return loom::broadcast_to<extents<3, dyn>>(x); },
             row,
             make_shape({3, 4}),
             numpy(row, make_shape({3, 4})),
             "[4] to [3, ?]");
  check_view([](const auto& x) { return loom::broadcast_to<extents<3, dyn>>(x); },
             iota(loom_test::vec<float>(70001)),
             make_shape({3, 70001}),
             numpy(iota(loom_test::vec<float>(70001)), make_shape({3, 70001})),
             "[70001] to [3, ?]: the threaded path");

  const loom::placeholder<0, float, extents<dyn, 1>> p;
  static_assert(std::is_same_v<extents_of<decltype(loom::broadcast_to<extents<2, dyn, 4>>(p))>,
                               extents<2, dyn, 4>>);

  SECTION("extents that do not broadcast throw shape_error naming both shapes") {
    const auto to_3_4 = [](const auto& x) {
      return loom::broadcast_to<extents<3, 4>>(x);
    };
    auto model = loom::compile(to_3_4, loom::input<float, extents<dyn, dyn>>{});
    const mat bad(3, 2);
    for (const std::string& message : {shape_error_message([&] { (void)to_3_4(bad); }),
                                       shape_error_message([&] { (void)model(bad); })})
      CHECK_THAT(message, Contains("broadcast_to") && Contains("[3, 2]") && Contains("[3, 4]"));
  }
}

TEST_CASE("expand_dims inserts axes of extent 1", "[views][expand_dims]") {
  const mat m = iota(mat(3, 4));
  const std::vector<double> same(m.begin(), m.end());  // the row-major order is unchanged
  check_view([](const auto& x) { return loom::expand_dims<0, 2>(x); },
             m,
             make_shape({1, 3, 1, 4}),
             same,
             "[3, 4] at axes 0 and 2");
  check_view([](const auto& x) { return loom::expand_dims<-1>(x); },
             m,
             make_shape({3, 4, 1}),
             same,
             "[3, 4] at axis -1");
  // Through a transposed operand: the inserted axes keep the operand's strides elsewhere.
  check_view([](const auto& x) { return loom::expand_dims<1>(loom::transpose(x)); },
             m,
             make_shape({4, 1, 3}),
             permuted(m, {1, 0}),
             "transpose of [3, 4] at axis 1");
  const loom::placeholder<0, float, extents<dyn, 5>> p;
  static_assert(
      std::is_same_v<extents_of<decltype(loom::expand_dims<1, -1>(p))>, extents<dyn, 1, 5, 1>>);
}

namespace {

template <std::size_t Axis, std::ptrdiff_t Begin, std::ptrdiff_t End, std::ptrdiff_t Step, class X>
void check_slice(const X& x, const std::string& what) {
  loom::shape out;
  const std::vector<double> want = sliced(x, Axis, Begin, End, Step, out);
  check_view([](const auto& x) { return loom::slice<Axis, Begin, End, Step>(x); },
             x,
             out,
             want,
             "slice<" + std::to_string(Axis) + ", " + what + "> of " + x.shape().to_string());
}

}  // namespace

TEST_CASE("slice follows Python's rules", "[views][slice]") {
  const mat x = iota(mat(5, 7));
  check_slice<1, 2, slice_end, 1>(x, "2:");
  check_slice<1, 1, 5, 1>(x, "1:5");
  check_slice<1, -3, slice_end, 1>(x, "-3:");
  check_slice<1, 0, -1, 1>(x, ":-1");
  check_slice<1, -6, -2, 1>(x, "-6:-2");
  check_slice<1, 1, slice_end, 2>(x, "1::2");
  check_slice<1, -6, -1, 3>(x, "-6:-1:3");
  check_slice<1, 0, slice_end, 10>(x, "::10");
  check_slice<0, 1, 2, 1>(x, "1:2");
  // Out of range: clamped bounds, or nothing.
  check_slice<0, -100, 100, 1>(x, "-100:100");
  check_slice<0, 10, slice_end, 1>(x, "10:");
  check_slice<1, 5, 2, 1>(x, "5:2");
  check_slice<1, -2, -5, 1>(x, "-2:-5");
  check_slice<0, 0, 0, 1>(x, "0:0");
  // Along the middle axis of a rank-3 operand, and an empty operand.
  check_slice<1, 1, slice_end, 2>(iota(cube(3, 70, 5)), "1::2");
  check_slice<0, 1, slice_end, 1>(mat(0, 3), "1:");

  SECTION("static extents give static result extents") {
    ftensor<extents<5, 7>> s = iota(ftensor<extents<5, 7>>());
    const loom::placeholder<0, float, extents<5, 7>> p;
    static_assert(
        std::is_same_v<extents_of<decltype(loom::slice<1, 1, slice_end, 2>(p))>, extents<5, 3>>);
    static_assert(std::is_same_v<extents_of<decltype(loom::slice<1, -3>(p))>, extents<5, 3>>);
    static_assert(std::is_same_v<extents_of<decltype(loom::slice<0, 10>(p))>, extents<0, 7>>);
    static_assert(
        std::is_same_v<extents_of<decltype(loom::slice<1, -100, 100>(p))>, extents<5, 7>>);
    const loom::placeholder<0, float, extents<dyn, 7>> q;
    static_assert(std::is_same_v<extents_of<decltype(loom::slice<0, 1>(q))>, extents<dyn, 7>>);
    check_slice<1, -6, -1, 3>(s, "-6:-1:3");
    check_slice<0, -2, slice_end, 1>(s, "-2:");
  }
}

TEST_CASE("views compose", "[views][compose]") {
  const mat x = iota(mat(7, 5));
  SECTION("transpose of a slice, and a slice of a transpose") {
    // Rows 1, 3 and 5 of x, as columns.
    std::vector<double> want;
    for (std::size_t j = 0; j < 5; ++j)
      for (std::size_t i = 1; i < 7; i += 2) want.push_back(x(i, j));
    check_view([](const auto& x) { return loom::transpose(loom::slice<0, 1, slice_end, 2>(x)); },
               x,
               make_shape({5, 3}),
               want,
               "transpose(x[1::2])");
    check_view([](const auto& x) { return loom::slice<1, 1, slice_end, 2>(loom::transpose(x)); },
               x,
               make_shape({5, 3}),
               want,
               "transpose(x)[:, 1::2]");
  }
  SECTION("a slice of a slice, a permute of a permute") {
    // x[:, 2:][:, 1::2] is x[:, 3::2].
    loom::shape out;
    const std::vector<double> want = sliced(x, 1, 3, slice_end, 2, out);
    check_view([](const auto& x) { return loom::slice<1, 1, slice_end, 2>(loom::slice<1, 2>(x)); },
               x,
               out,
               want,
               "x[:, 2:][:, 1::2]");
    const cube c = iota(cube(2, 3, 4));
    check_view([](const auto& x) { return loom::permute<1, 2, 0>(loom::permute<2, 0, 1>(x)); },
               c,
               c.shape(),
               permuted(c, {0, 1, 2}),
               "two permutes that undo each other");
    check_view([](const auto& x) { return loom::transpose(loom::transpose(x)); },
               x,
               x.shape(),
               permuted(x, {0, 1}),
               "transpose(transpose(x))");
  }
  SECTION("reshape of a strided view is materialised first") {
    const auto flat_transpose = [](const auto& x) {
      return loom::reshape<extents<dyn>>(loom::transpose(x));
    };
    const auto pairs_of_slice = [](const auto& x) {
      return loom::reshape<extents<dyn, 2>>(loom::slice<1, 1>(x));
    };
    auto model = loom::compile(flat_transpose, loom::input<float, extents<dyn, dyn>>{});
    static_assert(decltype(model)::kernel_count == 2, "the transpose, then the copy");
    check_view(flat_transpose, x, make_shape({35}), permuted(x, {1, 0}), "reshape(transpose(x))");
    loom::shape out;
    const std::vector<double> want = sliced(x, 1, 1, slice_end, 1, out);
    check_view(pairs_of_slice, x, make_shape({14, 2}), want, "reshape(x[:, 1:])");
    check_view(
        [](const auto& x) { return loom::reshape<extents<5, 7>>(loom::reshape<extents<dyn>>(x)); },
        x,
        make_shape({5, 7}),
        permuted(x, {0, 1}),
        "reshape(reshape(x))");
  }
  SECTION("broadcast_to, then slice or transpose") {
    const loom_test::vec<float> r = iota(loom_test::vec<float>(5));
    std::vector<double> want;
    for (std::size_t i = 1; i < 3; ++i)
      for (std::size_t j = 0; j < 5; ++j) want.push_back(double(j));
    check_view(
        [](const auto& x) { return loom::slice<0, 1, 3>(loom::broadcast_to<extents<4, dyn>>(x)); },
        r,
        make_shape({2, 5}),
        want,
        "broadcast_to<4, ?>(r)[1:3]");
    want.clear();
    for (std::size_t j = 0; j < 5; j += 2)
      for (std::size_t i = 0; i < 4; ++i) want.push_back(double(j));
    check_view(
        [](const auto& x) {
          return loom::transpose(
              loom::slice<1, 0, slice_end, 2>(loom::broadcast_to<extents<4, dyn>>(x)));
        },
        r,
        make_shape({3, 4}),
        want,
        "transpose(broadcast_to<4, ?>(r)[:, ::2])");
  }
}

namespace {

const auto exp_transpose_plus = [](const auto& x, const auto& y) {
  return loom::exp(loom::transpose(x)) + y;
};
const auto forward_difference = [](const auto& x) {
  return loom::slice<1, 1>(x) - loom::slice<1, 0, -1>(x);
};

}  // namespace

TEST_CASE("views fuse into element-wise consumers", "[views][fused]") {
  auto model = loom::compile(exp_transpose_plus,
                             loom::input<float, extents<dyn, dyn>>{},
                             loom::input<float, extents<dyn, dyn>>{});
  auto difference = loom::compile(forward_difference, loom::input<float, extents<dyn, dyn>>{});
  static_assert(decltype(model)::kernel_count == 1, "the transpose is read in place");
  static_assert(decltype(difference)::kernel_count == 1);
  std::uint32_t seed = 2000;
  // [300, 301] is above the threading threshold: strided reads split over threads.
  for (const auto& [r, c] : std::vector<std::pair<std::size_t, std::size_t>>{
           {3, 5}, {64, 65}, {1, 1}, {0, 4}, {300, 301}}) {
    const std::string what = "[" + std::to_string(r) + ", " + std::to_string(c) + "]";
    mat x(r, c), y(c, r);
    loom_test::fill_normal(x, seed++, 0, 1);
    loom_test::fill_normal(y, seed++, 0, 1);
    const auto got = model(x, y);
    REQUIRE(got.shape() == make_shape({c, r}));
    // exp within a few ulps, then one rounding of the sum: 8 eps of the terms' magnitudes.
    LOOM_CHECK_REPORT(compare_scaled(
        got,
        [&](std::size_t i) { return std::exp(double(x(i % r, i / r))) + y.data()[i]; },
        [&](std::size_t i) { return std::exp(double(x(i % r, i / r))) + std::abs(y.data()[i]); },
        {8 * eps_f, 0},
        "exp(transpose(x)) + y of " + what));
    // Eager materialises the transpose and runs exp over it whole, so an element may take the
    // SIMD exp in one and the scalar exp of a row's tail in the other: a few ulps.
    const auto eager = exp_transpose_plus(x, y);
    LOOM_CHECK_REPORT(compare_scaled(
        got,
        [&](std::size_t i) { return eager.data()[i]; },
        [&](std::size_t i) { return std::abs(eager.data()[i]) + std::abs(y.data()[i]); },
        {8 * eps_f, 0},
        what + ": fused vs eager"));
    auto single = model;
    single.set_threads(1);
    LOOM_CHECK_REPORT(compare_same(single(x, y), got, what + ": one thread vs default"));

    if (c > 0) {
      // One rounding of a difference.
      const auto d = difference(x);
      REQUIRE(d.shape() == make_shape({r, c - 1}));
      LOOM_CHECK_REPORT(compare_with(
          d,
          [&](std::size_t i) {
            const std::size_t a = i / (c - 1), b = i % (c - 1);
            return double(x(a, b + 1)) - double(x(a, b));
          },
          {eps_f / 2, 0},
          "x[:, 1:] - x[:, :-1] of " + what));
      LOOM_CHECK_REPORT(compare_same(d, forward_difference(x), what + ": difference vs eager"));
    }
  }
}

TEST_CASE("views of computed values materialise them first", "[views][computed]") {
  const auto transpose_twice = [](const auto& x) {
    return loom::transpose(x * 2.f);
  };
  const auto tail_twice = [](const auto& x) {
    return loom::slice<1, 1>(x * 2.f);
  };
  const auto flat_transpose_twice = [](const auto& x) {
    return loom::reshape<extents<dyn>>(loom::transpose(x * 2.f));
  };
  const auto tail_of_exp = [](const auto& x) {
    return loom::slice<1, -2>(loom::exp(x)) + 1.f;
  };
  auto twice = loom::compile(transpose_twice, loom::input<float, extents<dyn, dyn>>{});
  auto tail = loom::compile(tail_of_exp, loom::input<float, extents<dyn, dyn>>{});
  static_assert(decltype(tail)::kernel_count == 2, "exp(x), then the slice read from it");
  // x * 2 must be complete before the transpose reads it: two passes. (A runtime check, so
  // the rest of the file still builds while it fails.)
  CHECK(decltype(twice)::kernel_count == 2);
  // Square and not, so a view read from the pass that writes its operand shows either as
  // wrong elements or as a shape_error between the two iteration spaces.
  for (const auto& [r, c] : std::vector<std::pair<std::size_t, std::size_t>>{
           {3, 5}, {64, 64}, {65, 66}, {1, 2}, {0, 3}}) {
    const std::string what = "[" + std::to_string(r) + ", " + std::to_string(c) + "]";
    const mat x = iota(mat(r, c));
    std::vector<double> want = permuted(x, {1, 0});
    for (double& v : want) v *= 2;
    check_view(transpose_twice, x, make_shape({c, r}), want, "transpose(x * 2) of " + what);
    check_view(
        flat_transpose_twice, x, make_shape({r * c}), want, "reshape(transpose(x * 2)) of " + what);
    if (c > 0) {
      loom::shape out;
      want = sliced(x, 1, 1, slice_end, 1, out);
      for (double& v : want) v *= 2;
      check_view(tail_twice, x, out, want, "(x * 2)[:, 1:] of " + what);
    }

    mat y(r, c);
    loom_test::fill_normal(y, 2100 + std::uint32_t(r), 0, 1);
    const std::size_t kept = std::min<std::size_t>(c, 2);
    const auto got = tail(y);
    REQUIRE(got.shape() == make_shape({r, kept}));
    // exp within a few ulps, the sum one rounding.
    LOOM_CHECK_REPORT(compare_with(
        got,
        [&](std::size_t i) { return std::exp(double(y(i / kept, c - kept + i % kept))) + 1; },
        {8 * eps_f, 0},
        "exp(x)[:, -2:] + 1 of " + what));
    LOOM_CHECK_REPORT(compare_same(got, tail_of_exp(y), what + ": fused vs eager"));
  }
}

namespace {

const auto three_results = [](const auto& x) {
  return std::make_tuple(loom::transpose(x), x * 2.f, loom::slice<0, 1, slice_end, 2>(x));
};

}  // namespace

TEST_CASE("a model may return views", "[views][outputs]") {
  const mat x = iota(mat(5, 3));
  SECTION("a view of an input returned alone, into a new tensor or the caller's") {
    auto alone = loom::compile([](const auto& x) { return loom::permute<1, 0>(x); },
                               loom::input<float, extents<dyn, dyn>>{});
    static_assert(decltype(alone)::kernel_count == 1);
    LOOM_CHECK_REPORT(matches(alone(x), make_shape({3, 5}), permuted(x, {1, 0}), "permute"));
    mat out(3, 5), wrong(5, 3);
    alone.run(out, x);
    LOOM_CHECK_REPORT(matches(out, make_shape({3, 5}), permuted(x, {1, 0}), "run(): permute"));
    CHECK_THAT(shape_error_message([&] { alone.run(wrong, x); }),
               Contains("[5, 3]") && Contains("[3, 5]"));
  }
  SECTION("views beside other results, static extents") {
    auto model = loom::compile(three_results, loom::input<float, extents<5, 3>>{});
    ftensor<extents<5, 3>> s;
    std::copy(x.begin(), x.end(), s.begin());
    std::vector<double> doubled(15);
    for (std::size_t i = 0; i < 15; ++i) doubled[i] = 2.0 * i;
    const auto [t, twice, odd] = model(s);
    LOOM_CHECK_REPORT(matches(t, make_shape({3, 5}), permuted(x, {1, 0}), "transpose(x)"));
    LOOM_CHECK_REPORT(matches(twice, make_shape({5, 3}), doubled, "x * 2"));
    loom::shape odd_shape;
    const std::vector<double> want = sliced(x, 0, 1, slice_end, 2, odd_shape);
    LOOM_CHECK_REPORT(matches(odd, odd_shape, want, "x[1::2]"));
    ftensor<extents<3, 5>> t_out;
    ftensor<extents<5, 3>> twice_out;
    ftensor<extents<2, 3>> odd_out;
    model.run(std::tie(t_out, twice_out, odd_out), s);
    LOOM_CHECK_REPORT(compare_same(t_out, t, "run(): transpose(x)"));
    LOOM_CHECK_REPORT(compare_same(twice_out, twice, "run(): x * 2"));
    LOOM_CHECK_REPORT(compare_same(odd_out, odd, "run(): x[1::2]"));
  }
  SECTION("views beside other results, dynamic extents") {
    // The results' static extents are all [?, ?], their shapes [3, 5], [5, 3] and [2, 3].
    auto model = loom::compile(three_results, loom::input<float, extents<dyn, dyn>>{});
    std::vector<double> doubled(15);
    for (std::size_t i = 0; i < 15; ++i) doubled[i] = 2.0 * i;
    try {
      const auto [t, twice, odd] = model(x);
      LOOM_CHECK_REPORT(matches(t, make_shape({3, 5}), permuted(x, {1, 0}), "transpose(x)"));
      LOOM_CHECK_REPORT(matches(twice, make_shape({5, 3}), doubled, "x * 2"));
      loom::shape odd_shape;
      const std::vector<double> want = sliced(x, 0, 1, slice_end, 2, odd_shape);
      LOOM_CHECK_REPORT(matches(odd, odd_shape, want, "x[1::2]"));
    } catch (const loom::error& e) {
      FAIL_CHECK("(transpose(x), x * 2, x[1::2]) threw: " << e.what());
    }
  }
}

TEST_CASE("reductions read views, and views read reductions", "[views][reduce]") {
  const auto column_sums = [](const auto& x) {
    return loom::sum(loom::transpose(x), loom::axes<-1>);
  };
  const auto max_of_odd = [](const auto& x) {
    return loom::max(loom::slice<1, 1, slice_end, 2>(x), loom::axes<-1>);
  };
  const auto minus_row_mean = [](const auto& x) {
    return x - loom::broadcast_to<extents<dyn, 8>>(loom::mean(x, loom::axes<-1>, loom::keepdims));
  };
  const auto transposed_sums = [](const auto& x) {
    return loom::transpose(loom::sum(x, loom::axes<0>, loom::keepdims)) * 1.f;
  };
  std::uint32_t seed = 2200;
  for (const std::size_t rows : {std::size_t(1), std::size_t(6), std::size_t(70001)}) {
    const std::string what = "[" + std::to_string(rows) + ", 8]";
    // Integer-valued elements: sums of up to 70001 of them are exact in f32.
    ftensor<extents<dyn, 8>> x(rows);
    loom_test::fill_with(x, seed++, std::uniform_int_distribution<int>(-8, 8));
    std::vector<double> col(8, 0.0), row_mean(rows, 0.0), odd_max(rows, -1e30);
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < 8; ++j) {
        col[j] += x(i, j);
        row_mean[i] += x(i, j) / 8.0;
        if (j % 2 == 1) odd_max[i] = std::max<double>(odd_max[i], x(i, j));
      }
    check_view(column_sums, x, make_shape({8}), col, "sum(transpose(x), axes<-1>) of " + what);
    check_view(max_of_odd, x, make_shape({rows}), odd_max, "max(x[:, 1::2], axes<-1>) of " + what);
    // Means of eight integers are exact in f32, and so are the differences.
    std::vector<double> centered(rows * 8);
    for (std::size_t i = 0; i < centered.size(); ++i) centered[i] = x.data()[i] - row_mean[i / 8];
    check_view(minus_row_mean,
               x,
               make_shape({rows, 8}),
               centered,
               "x - broadcast_to<?, 8>(mean(x, axes<-1>, keepdims)) of " + what);
    check_view(transposed_sums,
               x,
               make_shape({8, 1}),
               col,
               "transpose(sum(x, axes<0>, keepdims)) of " + what);
  }
}
