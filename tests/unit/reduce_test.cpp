// Reductions: sum, mean, max, min, prod and argmax over every axis set of a rank-3 input, with
// and without keepdims, against a double-precision reference loop; dtypes, static extents,
// extents of 0 and 1, NaN and ties, reductions fused with their producers and consumers,
// and rows long enough to take the threaded path.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../common/reduction_reference.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using loom::dyn;
using loom::extents;
using namespace loom_test;

namespace {

template <int... A>
std::string axes_text() {
  std::string s = "axes<";
  std::size_t n = 0;
  ((s += (n++ ? ", " : "") + std::to_string(A)), ...);
  return s + ">";
}

// A result as doubles, with its shape and the unit roundoff of its dtype (0 for i32, whose
// sums and products wrap exactly), or the message of the shape_error it threw. The checks
// take this instead of the tensor, so that they are compiled once rather than per reduction.
struct result {
  loom::shape dims;
  std::vector<double> values;
  double u = 0;
  std::string error;

  const loom::shape& shape() const { return dims; }
  std::size_t size() const { return values.size(); }
  const double* data() const { return values.data(); }
};

template <class Tensor>
result as_result(const Tensor& t) {
  using R = typename Tensor::value_type;
  return {t.shape(),
          std::vector<double>(t.begin(), t.end()),
          std::is_floating_point_v<R> ? std::numeric_limits<R>::epsilon() / 2 : 0,
          {}};
}

template <class F>
result result_of(F&& f) {
  try {
    return as_result(f());
  } catch (const loom::shape_error& e) {
    result r;
    r.error = e.what();
    return r;
  }
}

// Checks a result against the reference. The bounds hold for any order of evaluation
// (Higham, Accuracy and Stability of Numerical Algorithms, 3.1 and 4.2), so they do not
// depend on how loom splits a row into SIMD lanes: with u the unit roundoff of the result's
// dtype, a sum of n terms is within about (n - 1)u of the sum of their magnitudes and a
// product of n factors within about (n - 1)u of its value (n u allowed for both); mean adds
// u for converting i32 elements to f32 and u for its division. max, min and argmax pick an
// element: exact, as are the wrapping i32 sums and products.
loom_test::report against(const result& got,
                          const expected_reduction& e,
                          red k,
                          const std::string& what) {
  if (!got.error.empty()) return loom_test::not_compared(what, "threw " + got.error);
  if (!(got.shape() == e.shape)) return loom_test::shapes_differ(what, got.shape(), e.shape);
  const double n = static_cast<double>(e.count);
  const auto want = [&](std::size_t i) {
    return e.value[i];
  };
  const auto scale = [&](std::size_t i) {
    return e.scale[i];
  };
  switch (k) {
    case red::sum:
      return compare_scaled(got, want, scale, {n * got.u, 0}, what);
    case red::mean:
      return compare_scaled(got, want, scale, {(n + 2) * got.u, 0}, what);
    case red::prod:
      return compare_with(got, want, {n * got.u, 0}, what);
    default:
      return compare_with(got, want, {}, what);
  }
}

template <class Tensor>
loom_test::report against(const Tensor& got,
                          const expected_reduction& e,
                          red k,
                          const std::string& what) {
  return against(as_result(got), e, k, what);
}

// One reduction of one input, compiled and eager. Over an empty axis, max, min and argmax
// must throw shape_error naming the op and the input's shape.
void verify(red k,
            const loom::shape& in,
            const std::string& what,
            const expected_reduction& e,
            const result& fused,
            const result& eager) {
  INFO(what);
  if (e.empty_error) {
    CHECK_THAT(fused.error, Contains(name_of(k)) && Contains(in.to_string()));
    CHECK_THAT(eager.error, Contains(name_of(k)) && Contains(in.to_string()));
    return;
  }
  LOOM_CHECK_REPORT(against(fused, e, k, what));
  LOOM_CHECK_REPORT(compare_same(eager, fused, what + ": eager vs compiled"));
}

// Signs at random and magnitudes spread over [1/2, 2], so products of hundreds of elements
// stay far from overflow and underflow and every kind can share one input.
template <class T, class E>
void fill_signed(loom::tensor<T, E>& t, std::uint32_t seed) {
  loom_test::fill_with(t, seed, [](std::mt19937& gen) {
    const double magnitude = std::exp(std::uniform_real_distribution<double>(-0.7, 0.7)(gen));
    return std::bernoulli_distribution(0.5)(gen) ? magnitude : -magnitude;
  });
}

// --- the sweep -------------------------------------------------------------------------------

// One reduction over inputs of one type, compiled (traced) and eager.
template <red K, bool Keep, int... A, class X>
void check_reduction(const std::vector<X>& inputs) {
  using T = typename X::value_type;
  using E = typename X::extents_type;
  constexpr unsigned mask = mask_of<E::rank, A...>();
  auto model = loom::compile([](const auto& x) { return reduce_over<K, Keep, A...>(x); },
                             loom::input<T, E>{});
  using R = extents_of<typename decltype(model)::template output_tensor<0>>;
  static_assert(R::rank == (Keep ? E::rank : E::rank - std::popcount(mask)));
  for (const X& x : inputs)
    verify(K,
           x.shape(),
           std::string(name_of(K)) + " " + axes_text<A...>() + (Keep ? " keepdims" : "") + " of " +
               x.shape().to_string(),
           reduction_reference(K, x.data(), x.shape(), mask, Keep),
           result_of([&] { return model(x); }),
           result_of([&] { return reduce_over<K, Keep, A...>(x); }));
}

// The sweep runs each axis set through two models of several results, which compile much
// faster than a model per reduction (and the reductions of one set of rows then also run as
// one fused pass). The reductions that have a value over an empty axis (sum,
// mean, prod) are apart from those that do not (max, min, argmax), which throw there.
struct sweep_entry {
  red kind;
  bool keep;
};
constexpr std::array<sweep_entry, 6> folds{{{red::sum, false},
                                            {red::sum, true},
                                            {red::mean, false},
                                            {red::mean, true},
                                            {red::prod, false},
                                            {red::prod, true}}};
constexpr std::array<sweep_entry, 6> picks{{{red::max, false},
                                            {red::max, true},
                                            {red::min, false},
                                            {red::min, true},
                                            {red::argmax, false},
                                            {red::argmax, true}}};

// argmax takes one axis, or all of them (and no axes: each element is its own row).
template <std::size_t Rank, unsigned Mask>
constexpr bool argmax_takes = std::popcount(Mask) <= 1 || Mask == (1u << Rank) - 1;

template <bool Picks, std::size_t Rank, int... A, class X>
auto sweep_results(const X& x) {
  constexpr red a = Picks ? red::max : red::sum, b = Picks ? red::min : red::mean,
                c = Picks ? red::argmax : red::prod;
  auto ab = std::make_tuple(reduce_over<a, false, A...>(x),
                            reduce_over<a, true, A...>(x),
                            reduce_over<b, false, A...>(x),
                            reduce_over<b, true, A...>(x));
  if constexpr (c == red::argmax && !argmax_takes<Rank, mask_of<Rank, A...>()>)
    return ab;
  else
    return std::tuple_cat(
        ab, std::make_tuple(reduce_over<c, false, A...>(x), reduce_over<c, true, A...>(x)));
}

// Checks the results of a model of several reductions for one input, in the order of
// `entries`; `error` is the message of the shape_error the model threw, if it threw.
template <class X>
void verify_results(const std::array<sweep_entry, 6>& entries,
                    const X& x,
                    unsigned mask,
                    const std::string& axes,
                    const std::vector<result>& got,
                    const std::string& error) {
  const std::string shape = x.shape().to_string();
  INFO(axes << " of " << shape);
  for (const sweep_entry& entry : entries) {
    if (reduction_reference(entry.kind, x.data(), x.shape(), mask, entry.keep).empty_error) {
      // The first reduction with nothing to pick from throws, naming itself.
      CHECK_THAT(error, Contains(name_of(entry.kind)) && Contains(shape));
      return;
    }
  }
  REQUIRE(error.empty());
  for (std::size_t k = 0; k < got.size(); ++k) {
    const sweep_entry& entry = entries[k];
    LOOM_CHECK_REPORT(
        against(got[k],
                reduction_reference(entry.kind, x.data(), x.shape(), mask, entry.keep),
                entry.kind,
                std::string(name_of(entry.kind)) + (entry.keep ? " keepdims" : "")));
  }
}

// Compiles `reductions`, a model returning a tuple of reductions over the axes in `mask`
// (described by `entries`), and checks it on every input.
template <class Reductions, class X>
void check_results(const std::array<sweep_entry, 6>& entries,
                   unsigned mask,
                   const std::string& axes,
                   Reductions reductions,
                   const std::vector<X>& inputs) {
  auto model =
      loom::compile(reductions, loom::input<typename X::value_type, typename X::extents_type>{});
  for (const X& x : inputs) {
    std::vector<result> got;
    std::string error;
    try {
      std::apply([&](const auto&... r) { (got.push_back(as_result(r)), ...); }, model(x));
    } catch (const loom::shape_error& e) {
      error = e.what();
    }
    verify_results(entries, x, mask, axes, got, error);
  }
}

template <bool Picks, int... A, class X>
void sweep_models(const std::vector<X>& inputs) {
  constexpr std::size_t rank = X::extents_type::rank;
  check_results(
      Picks ? picks : folds,
      mask_of<rank, A...>(),
      axes_text<A...>(),
      [](const auto& x) { return sweep_results<Picks, rank, A...>(x); },
      inputs);
}

template <int... A, class X>
void sweep(const std::vector<X>& inputs) {
  sweep_models<false, A...>(inputs);
  sweep_models<true, A...>(inputs);
}

// Extents of 1 and 0 on each axis, so each is reduced in some axis sets and kept in the
// others; rows of 130 (two SIMD blocks and a scalar tail) along each axis; and a reduction
// over one middle axis walks strided columns.
std::vector<cube> sweep_inputs() {
  const std::vector<loom::shape> shapes{make_shape({5, 6, 7}),
                                        make_shape({1, 6, 7}),
                                        make_shape({5, 1, 7}),
                                        make_shape({5, 6, 1}),
                                        make_shape({1, 1, 1}),
                                        make_shape({0, 6, 7}),
                                        make_shape({5, 0, 7}),
                                        make_shape({5, 6, 0}),
                                        make_shape({2, 3, 130}),
                                        make_shape({2, 130, 3}),
                                        make_shape({130, 2, 3})};
  std::vector<cube> inputs;
  std::uint32_t seed = 1000;
  for (const loom::shape& s : shapes) {
    cube x(s);
    fill_signed(x, seed++);
    inputs.push_back(x);
  }
  return inputs;
}

}  // namespace

TEST_CASE("every reduction over every axis set of a rank-3 f32 input", "[reduce][sweep]") {
  const std::vector<cube> inputs = sweep_inputs();
  SECTION("axes<> reduces nothing") {
    sweep<>(inputs);
  }
  SECTION("axes<0>") {
    sweep<0>(inputs);
  }
  SECTION("axes<1>") {
    sweep<1>(inputs);
  }
  SECTION("axes<-1>") {
    sweep<-1>(inputs);
  }
  SECTION("axes<0, 1>") {
    sweep<0, 1>(inputs);
  }
  SECTION("axes<-1, 0>") {
    sweep<-1, 0>(inputs);
  }
  SECTION("axes<1, 2>") {
    sweep<1, 2>(inputs);
  }
  SECTION("axes<0, 1, 2>") {
    sweep<0, 1, 2>(inputs);
  }
}

TEST_CASE("the spellings of an axis set are one reduction", "[reduce][static]") {
  using p3 = loom::placeholder<0, float, extents<dyn, dyn, dyn>>;
  const p3 x;
  // Negative axes count from the end, the order of the axes does not matter, and the options
  // may come in either order; no axes means all of them.
  static_assert(std::is_same_v<decltype(loom::sum(x, loom::axes<-1>)),
                               decltype(loom::sum(x, loom::axes<2>))>);
  static_assert(std::is_same_v<decltype(loom::max(x, loom::axes<2, 0>)),
                               decltype(loom::max(x, loom::axes<0, -1>))>);
  static_assert(std::is_same_v<decltype(loom::mean(x, loom::keepdims, loom::axes<1>)),
                               decltype(loom::mean(x, loom::axes<1>, loom::keepdims))>);
  static_assert(
      std::is_same_v<decltype(loom::prod(x)), decltype(loom::prod(x, loom::axes<0, 1, 2>))>);
  static_assert(std::is_same_v<decltype(loom::min(x, loom::keepdims)),
                               decltype(loom::min(x, loom::axes<0, 1, 2>, loom::keepdims))>);
  static_assert(
      std::is_same_v<decltype(loom::argmax(x)), decltype(loom::argmax(x, loom::axes<-3, -2, -1>))>);

  // Result extents: reduced axes vanish, or stay as static 1 with keepdims.
  static_assert(std::is_same_v<extents_of<decltype(loom::sum(x))>, extents<>>);
  static_assert(
      std::is_same_v<extents_of<decltype(loom::sum(x, loom::keepdims))>, extents<1, 1, 1>>);
  static_assert(
      std::is_same_v<extents_of<decltype(loom::sum(x, loom::axes<1>))>, extents<dyn, dyn>>);
  static_assert(std::is_same_v<extents_of<decltype(loom::sum(x, loom::axes<1>, loom::keepdims))>,
                               extents<dyn, 1, dyn>>);
  static_assert(std::is_same_v<extents_of<decltype(loom::sum(x, loom::axes<>))>, extents_of<p3>>);
  const loom::placeholder<0, float, extents<5, dyn, 7>> s;
  static_assert(std::is_same_v<extents_of<decltype(loom::max(s, loom::axes<1>))>, extents<5, 7>>);
  static_assert(
      std::is_same_v<extents_of<decltype(loom::argmax(s, loom::axes<0>))>, extents<dyn, 7>>);
  static_assert(
      std::is_same_v<extents_of<decltype(loom::mean(s, loom::axes<0, 2>, loom::keepdims))>,
                     extents<1, dyn, 1>>);

  // Result dtypes: argmax is i32 whatever it reads, mean of i32 is f32, the rest keep theirs.
  const loom::placeholder<0, std::int32_t, extents<dyn>> i;
  const loom::placeholder<0, double, extents<dyn>> d;
  static_assert(std::is_same_v<decltype(loom::argmax(x))::value_type, std::int32_t>);
  static_assert(std::is_same_v<decltype(loom::argmax(d))::value_type, std::int32_t>);
  static_assert(std::is_same_v<decltype(loom::mean(i))::value_type, float>);
  static_assert(std::is_same_v<decltype(loom::mean(d))::value_type, double>);
  static_assert(std::is_same_v<decltype(loom::sum(i))::value_type, std::int32_t>);
  static_assert(std::is_same_v<decltype(loom::prod(i))::value_type, std::int32_t>);
  static_assert(std::is_same_v<decltype(loom::max(d))::value_type, double>);
  SUCCEED("checked at compile time");
}

TEST_CASE("reductions over static extents, and mixed static and dynamic", "[reduce][static]") {
  // One reduction per model here, so each also runs eagerly (the same one-node graph) and as
  // a pass of its own; static extents of 1 and 0 on reduced and on kept axes.
  SECTION("[5, 6, 7]") {
    std::vector<ftensor<extents<5, 6, 7>>> x(1);
    fill_signed(x[0], 1100);
    check_reduction<red::sum, false, 1>(x);
  }
  SECTION("[5, 1, 7] reduced over the 1") {
    std::vector<ftensor<extents<5, 1, 7>>> x(1);
    fill_signed(x[0], 1101);
    check_reduction<red::min, false, 1>(x);
  }
  SECTION("[3, 0, 4]: an empty axis, reduced") {
    std::vector<ftensor<extents<3, 0, 4>>> x(1);
    check_reduction<red::prod, true, 1>(x);  // ones
    check_reduction<red::max, false, 1>(x);  // throws: 12 results, nothing to pick them from
  }
  SECTION("[?, 6, 7]") {
    std::vector<ftensor<extents<dyn, 6, 7>>> x;
    for (std::size_t n : {0, 1, 4}) {
      x.emplace_back(n);
      fill_signed(x.back(), 1102 + std::uint32_t(n));
    }
    check_reduction<red::sum, false, 0>(x);
  }
}

namespace {

constexpr std::array<sweep_entry, 6> row_kinds{{{red::sum, false},
                                                {red::mean, false},
                                                {red::prod, false},
                                                {red::max, false},
                                                {red::min, false},
                                                {red::argmax, false}}};

const auto row_reductions = [](const auto& x) {
  return std::make_tuple(loom::sum(x, loom::axes<-1>),
                         loom::mean(x, loom::axes<-1>),
                         loom::prod(x, loom::axes<-1>),
                         loom::max(x, loom::axes<-1>),
                         loom::min(x, loom::axes<-1>),
                         loom::argmax(x, loom::axes<-1>));
};

}  // namespace

TEST_CASE("f64 and i32 reductions", "[reduce][dtype]") {
  // Rows of 130 elements (two SIMD blocks and a tail), and of 1.
  const std::vector<loom::shape> shapes{make_shape({3, 4, 130}), make_shape({2, 5, 1})};
  SECTION("f64") {
    std::vector<loom::tensor<double, extents<dyn, dyn, dyn>>> x;
    for (const loom::shape& s : shapes) {
      x.emplace_back(s);
      fill_signed(x.back(), 1200 + std::uint32_t(x.size()));
    }
    // NaN in a SIMD block of one row and in the tail of another.
    x[0](1, 2, 40) = loom_test::dnan;
    x[0](2, 3, 129) = loom_test::dnan;
    x[0](2, 3, 7) = loom_test::dinf;
    check_results(row_kinds, mask_of<3, -1>(), "axes<-1>", row_reductions, x);
  }
  SECTION("i32: sums and products wrap, mean is f32") {
    // Elements of any magnitude: most sums and every long product wraps, and the f32 mean
    // rounds each element on conversion.
    std::vector<loom::tensor<std::int32_t, extents<dyn, dyn, dyn>>> x;
    for (const loom::shape& s : shapes) {
      x.emplace_back(s);
      loom_test::fill_with(x.back(), 1210 + std::uint32_t(x.size()), [](std::mt19937& gen) {
        return std::uniform_int_distribution<std::int32_t>(
            std::numeric_limits<std::int32_t>::min(),
            std::numeric_limits<std::int32_t>::max())(gen);
      });
    }
    // max's identity for i32 is its lowest value, which must still count as an element: a
    // row of nothing else, and one where the maximum comes twice.
    auto& extremes = x.emplace_back(1, 2, 70);
    extremes.fill(std::numeric_limits<std::int32_t>::min());
    extremes(0, 1, 68) = extremes(0, 1, 66) = std::numeric_limits<std::int32_t>::max();
    // Wrapping by hand: max + 1 is min, and 2^16 * 2^16 is 0.
    auto& wraps = x.emplace_back(1, 2, 2);
    wraps(0, 0, 0) = std::numeric_limits<std::int32_t>::max();
    wraps(0, 0, 1) = 1;
    wraps(0, 1, 0) = wraps(0, 1, 1) = 65536;
    check_results(row_kinds, mask_of<3, -1>(), "axes<-1>", row_reductions, x);
  }
}

TEST_CASE("empty reductions: sum is 0, prod 1, mean NaN, while max, min and argmax throw",
          "[reduce][empty][errors]") {
  mat e(3, 0);
  const auto sums = loom::sum(e, loom::axes<-1>);
  const auto products = loom::prod(e, loom::axes<-1>);
  const auto means = loom::mean(e, loom::axes<-1>);
  REQUIRE(sums.shape() == make_shape({3}));
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(sums(i) == 0.f);
    CHECK(products(i) == 1.f);
    CHECK(std::isnan(means(i)));
  }
  CHECK_THAT(shape_error_message([&] { (void)loom::max(e, loom::axes<-1>); }),
             Contains("max") && Contains("[3, 0]"));
  CHECK_THAT(shape_error_message([&] { (void)loom::min(e, loom::axes<-1>); }),
             Contains("min") && Contains("[3, 0]"));
  CHECK_THAT(shape_error_message([&] { (void)loom::argmax(e, loom::axes<-1>); }),
             Contains("argmax") && Contains("[3, 0]"));
  // Empty rows, but no rows: nothing to compute, an empty result and no error.
  CHECK(loom::max(mat(0, 4), loom::axes<-1>).shape() == make_shape({0}));
  CHECK(loom::argmax(mat(0, 4), loom::axes<-1>).shape() == make_shape({0}));
}

TEST_CASE("max and min propagate NaN, argmax takes the first maximum, and NaN as maximum",
          "[reduce][nan]") {
  // Rows of 130: two SIMD blocks of 64 and a scalar tail of 2. Row r gets NaN at the
  // positions in `nans` and the row's maximum at those in `ties`, so that the first NaN or
  // maximum is met against later ones in the same lane, other lanes, other blocks and the tail.
  constexpr std::size_t n = 130, none = ~std::size_t(0);
  struct row_case {
    std::vector<std::size_t> nans, ties;
  };
  const std::vector<row_case> rows{
      {{}, {10, 74}},    // the same lane in two blocks
      {{}, {5, 6}},      // neighbouring lanes
      {{}, {63, 64}},    // the last lane of one block, the first of the next
      {{}, {100, 36}},   // the later block's maximum first in the list
      {{}, {128, 129}},  // both in the tail
      {{}, {127, 128}},  // block against tail
      {{}, {0, 129}},    // first and last
      {{}, {}},          // every element equal
      {{0}, {3}},        // NaN first
      {{70, 5}, {1}},    // two NaNs: the first wins, a lower lane in an earlier block
      {{129}, {0}},      // NaN last, in the tail
      {{64}, {63}},      // NaN after the maximum
      {{40, 104}, {}},   // NaNs in the same lane of two blocks
  };
  mat x(rows.size(), n);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const bool all_equal = rows[r].nans.empty() && rows[r].ties.empty();
    for (std::size_t j = 0; j < n; ++j)
      x(r, j) = all_equal ? 2.5f : -1.f + float((j * 37 + r * 11) % 97) / 100.f;
    for (std::size_t j : rows[r].ties) x(r, j) = 7.f;
    for (std::size_t j : rows[r].nans) x(r, j) = fnan;
  }
  auto model = loom::compile(
      [](const auto& x) {
        return std::make_tuple(loom::max(x, loom::axes<-1>),
                               loom::min(x, loom::axes<-1>),
                               loom::argmax(x, loom::axes<-1>));
      },
      loom::input<float, extents<dyn, dyn>>{});
  const auto [hi, lo, at] = model(x);
  const auto eager_at = loom::argmax(x, loom::axes<-1>);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    INFO("row " << r);
    std::size_t first_nan = none, first_max = none;
    for (std::size_t j = 0; j < n; ++j) {
      if (first_nan == none && std::isnan(x(r, j))) first_nan = j;
      if (first_max == none && !std::isnan(x(r, j))) {
        bool is_max = true;
        for (std::size_t k = 0; k < n; ++k) is_max = is_max && !(x(r, k) > x(r, j));
        if (is_max) first_max = j;
      }
    }
    if (first_nan != none) {
      CHECK(std::isnan(hi(r)));
      CHECK(std::isnan(lo(r)));
      CHECK(at(r) == std::int32_t(first_nan));
      CHECK(first_nan == *std::min_element(rows[r].nans.begin(), rows[r].nans.end()));
    } else {
      CHECK(at(r) == std::int32_t(first_max));
      if (!rows[r].ties.empty())
        CHECK(first_max == *std::min_element(rows[r].ties.begin(), rows[r].ties.end()));
      CHECK(hi(r) == x(r, first_max));
      CHECK(!std::isnan(lo(r)));
    }
    CHECK(eager_at(r) == at(r));
  }

  SECTION("over all axes, and over a column") {
    auto whole = loom::compile(
        [](const auto& x) {
          return std::make_tuple(loom::argmax(x),
                                 loom::max(x),
                                 loom::argmax(x, loom::axes<0>),
                                 loom::max(x, loom::axes<0>));
        },
        loom::input<float, extents<dyn, dyn>>{});
    const auto [all_at, all_max, columns, column_max] = whole(x);
    // The flat index of the first NaN: row 8 starts with one.
    CHECK(all_at() == std::int32_t(8 * n));
    CHECK(std::isnan(all_max()));
    // Down the columns (a strided walk), NaN in rows 8 and on wins where it appears.
    for (std::size_t j = 0; j < n; ++j) {
      std::size_t want = 0;
      for (std::size_t r = 1; r < rows.size(); ++r) {
        const float b = x(want, j), v = x(r, j);
        if (!std::isnan(b) && (std::isnan(v) || v > b)) want = r;
      }
      INFO("column " << j);
      CHECK(columns(j) == std::int32_t(want));
      CHECK(loom_test::same(column_max(j), x(want, j)));
    }
  }
  SECTION("infinities are values like any other") {
    mat inf(2, 70);
    for (std::size_t j = 0; j < 70; ++j) {
      inf(0, j) = -loom_test::finf;
      inf(1, j) = loom_test::finf;
    }
    CHECK(loom::max(inf, loom::axes<-1>)(0) == -loom_test::finf);
    CHECK(loom::min(inf, loom::axes<-1>)(1) == loom_test::finf);
    CHECK(loom::argmax(inf, loom::axes<-1>)(0) == 0);
  }
}

namespace {

// sum(exp(x) * y) over everything, and per row with y broadcast along the rows.
const auto sum_exp_times = [](const auto& x, const auto& y) {
  return loom::sum(loom::exp(x) * y);
};
const auto row_sum_exp_times = [](const auto& x, const auto& y) {
  return loom::sum(loom::exp(x) * y, loom::axes<-1>);
};
const auto center_rows = [](const auto& x) {
  return x - loom::mean(x, loom::axes<-1>, loom::keepdims);
};
const auto softmax_rows = [](const auto& x) {
  const auto e = loom::exp(x - loom::max(x, loom::axes<-1>, loom::keepdims));
  return e / loom::sum(e, loom::axes<-1>, loom::keepdims);
};
const auto center_matrices = [](const auto& x) {
  return x - loom::mean(x, loom::axes<1, 2>, loom::keepdims);
};
const auto center_columns = [](const auto& x) {
  return (x - loom::mean(x, loom::axes<0>, loom::keepdims)) * 2.f;
};
const auto share_of_middle = [](const auto& x) {
  return x / loom::sum(x, loom::axes<1>, loom::keepdims);
};

// Reference sums over the last axis of a matrix, in double: the value and the sum of the
// magnitudes.
template <class F>
std::pair<std::vector<double>, std::vector<double>> row_sums(std::size_t rows,
                                                             std::size_t cols,
                                                             F&& term) {
  std::vector<double> sum(rows, 0.0), magnitude(rows, 0.0);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) {
      sum[r] += term(r, c);
      magnitude[r] += std::abs(term(r, c));
    }
  return {sum, magnitude};
}

std::string text(std::size_t rows, std::size_t cols) {
  return "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]";
}

}  // namespace

TEST_CASE("a reduction fuses with its element-wise producers", "[reduce][fused]") {
  auto total = loom::compile(sum_exp_times,
                             loom::input<float, extents<dyn, dyn>>{},
                             loom::input<float, extents<dyn, dyn>>{});
  auto per_row = loom::compile(row_sum_exp_times,
                               loom::input<float, extents<dyn, dyn>>{},
                               loom::input<float, extents<dyn>>{});
  static_assert(decltype(total)::kernel_count == 1, "exp and * are computed inside the fold");
  static_assert(decltype(per_row)::kernel_count == 1);
  const std::vector<std::pair<std::size_t, std::size_t>> shapes{
      {3, 70}, {1, 1}, {0, 5}, {5, 0}, {64, 65}, {2, 1000}};
  std::uint32_t seed = 1400;
  for (const auto& [rows, cols] : shapes) {
    mat x(rows, cols), y(rows, cols);
    loom_test::vec<float> w(cols);
    loom_test::fill_normal(x, seed++, 0, 1);
    loom_test::fill_normal(y, seed++, 0, 1);
    loom_test::fill_normal(w, seed++, 0, 1);
    // Each term is within about 10u of exp(x) * y (exp within a few ulps, one rounding of the
    // product), then the sum's bound of n u.
    const auto [want, scale] = row_sums(
        rows, cols, [&](std::size_t r, std::size_t c) { return std::exp(x(r, c)) * y(r, c); });
    double all = 0, all_scale = 0;
    for (std::size_t r = 0; r < rows; ++r) {
      all += want[r];
      all_scale += scale[r];
    }
    const double n = double(rows * cols);
    const auto got = total(x, y);
    LOOM_CHECK_REPORT(compare_scaled(
        got,
        [&](std::size_t) { return all; },
        [&](std::size_t) { return all_scale; },
        {(n + 10) * u_f, 0},
        "sum(exp(x) * y) of " + text(rows, cols)));
    // The fused fold may contract exp(x) * y into its add (an FMA) where eager rounds the
    // product first, and eager's exp runs over the whole matrix, so an element may take the
    // SIMD exp in one and the scalar exp of a row's tail in the other: the terms differ by a
    // few ulps, so the sums by a few u of the sum of the terms' magnitudes.
    LOOM_CHECK_REPORT(compare_scaled(
        got,
        [&, eager = sum_exp_times(x, y)](std::size_t) { return eager(); },
        [&](std::size_t) { return all_scale; },
        {16 * u_f, 0},
        "fused vs eager"));

    const auto [row_want, row_scale] = row_sums(
        rows, cols, [&](std::size_t r, std::size_t c) { return std::exp(x(r, c)) * w(c); });
    const auto rows_got = per_row(x, w);
    CHECK(rows_got.shape() == make_shape({rows}));
    LOOM_CHECK_REPORT(compare_scaled(
        rows_got,
        [&](std::size_t r) { return row_want[r]; },
        [&](std::size_t r) { return row_scale[r]; },
        {(double(cols) + 10) * u_f, 0},
        "sum(exp(x) * w, axes<-1>) of " + text(rows, cols)));
  }
}

TEST_CASE("a trailing-axis reduction and its consumers run as one pass", "[reduce][fused]") {
  auto center = loom::compile(center_rows, loom::input<float, extents<dyn, dyn>>{});
  auto softmax = loom::compile(softmax_rows, loom::input<float, extents<dyn, dyn>>{});
  auto matrices = loom::compile(center_matrices, loom::input<float, extents<dyn, dyn, dyn>>{});
  static_assert(decltype(center)::kernel_count == 1);
  static_assert(decltype(softmax)::kernel_count == 1, "max, sum and the scaling share the rows");
  static_assert(decltype(matrices)::kernel_count == 1, "a row may span the two trailing axes");
  // Many short rows, a few long ones (the threaded path splits rows over threads), rows that
  // are one scalar tail, and empty ones.
  const std::vector<std::pair<std::size_t, std::size_t>> shapes{
      {4, 70}, {1, 1}, {5, 0}, {0, 5}, {70001, 3}, {3, 70001}, {2, 1 << 16}};
  std::uint32_t seed = 1500;
  for (const auto& [rows, cols] : shapes) {
    const std::string what = text(rows, cols);
    mat x(rows, cols);
    loom_test::fill_normal(x, seed++, 0, 1);
    const double n = double(cols);

    // The mean is within (n + 1)u of mean(|x|), the subtraction adds u of the result.
    const auto [sums, magnitudes] =
        row_sums(rows, cols, [&](std::size_t r, std::size_t c) { return double(x(r, c)); });
    const auto centered = center(x);
    REQUIRE(centered.shape() == x.shape());
    LOOM_CHECK_REPORT(compare_scaled(
        centered,
        [&](std::size_t i) { return x.data()[i] - sums[i / cols] / n; },
        [&](std::size_t i) { return std::abs(x.data()[i]) + magnitudes[i / cols] / n; },
        {(n + 3) * u_f, 0},
        "x - mean(x, axes<-1>, keepdims) of " + what));
    LOOM_CHECK_REPORT(compare_same(centered, center_rows(x), what + ": fused vs eager"));
    mat into(rows, cols);
    center.run(into, x);
    LOOM_CHECK_REPORT(compare_same(into, centered, what + ": run() vs operator()"));
    auto single = center;
    single.set_threads(1);
    auto three = center;
    three.set_threads(3);
    LOOM_CHECK_REPORT(compare_same(single(x), centered, what + ": one thread vs default"));
    LOOM_CHECK_REPORT(compare_same(three(x), centered, what + ": three threads vs default"));

    if (cols == 0 && rows > 0) {
      // max has no value over the empty rows, even though the softmax would be empty.
      CHECK_THAT(shape_error_message([&] { (void)softmax(x); }), Contains("max") && Contains(what));
      continue;
    }
    // softmax: exp's argument x - max is within u|x - max| (up to ~6u for N(0, 1) rows), exp
    // itself within a few ulps, the positive sum within n u of itself, the division u.
    std::vector<double> row_max(rows, -loom_test::dinf), denominators(rows, 0.0);
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < cols; ++c) row_max[r] = std::max<double>(row_max[r], x(r, c));
      for (std::size_t c = 0; c < cols; ++c) denominators[r] += std::exp(x(r, c) - row_max[r]);
    }
    const auto probabilities = softmax(x);
    LOOM_CHECK_REPORT(compare_with(
        probabilities,
        [&](std::size_t i) {
          return std::exp(x.data()[i] - row_max[i / cols]) / denominators[i / cols];
        },
        {(n + 32) * u_f, 0},
        "softmax of " + what));
  }

  SECTION("over the two trailing axes of a rank-3 input") {
    for (const loom::shape& s : {make_shape({3, 4, 5}), make_shape({2, 300, 130})}) {
      cube x(s);
      loom_test::fill_normal(x, seed++, 0, 1);
      const std::size_t per = s.dims[1] * s.dims[2];
      std::vector<double> sums(s.dims[0], 0.0), magnitudes(s.dims[0], 0.0);
      for (std::size_t i = 0; i < x.size(); ++i) {
        sums[i / per] += x.data()[i];
        magnitudes[i / per] += std::abs(x.data()[i]);
      }
      const auto got = matrices(x);
      LOOM_CHECK_REPORT(compare_scaled(
          got,
          [&](std::size_t i) { return x.data()[i] - sums[i / per] / double(per); },
          [&](std::size_t i) { return std::abs(x.data()[i]) + magnitudes[i / per] / double(per); },
          {(double(per) + 3) * u_f, 0},
          "x - mean(x, axes<1, 2>, keepdims) of " + s.to_string()));
    }
  }
}

TEST_CASE("a reduction over a leading axis runs alone, then its consumers", "[reduce][fused]") {
  auto columns = loom::compile(center_columns, loom::input<float, extents<dyn, dyn>>{});
  auto middle = loom::compile(share_of_middle, loom::input<float, extents<dyn, dyn, dyn>>{});
  static_assert(decltype(columns)::kernel_count == 2, "the column means, then the consumers");
  static_assert(decltype(middle)::kernel_count == 2);
  std::uint32_t seed = 1600;
  for (const auto& [rows, cols] : std::vector<std::pair<std::size_t, std::size_t>>{
           {5, 7}, {1, 9}, {9, 1}, {0, 4}, {70001, 3}, {3, 70001}}) {
    const std::string what = text(rows, cols);
    mat x(rows, cols);
    loom_test::fill_normal(x, seed++, 0, 1);
    std::vector<double> sums(cols, 0.0), magnitudes(cols, 0.0);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < cols; ++c) {
        sums[c] += x(r, c);
        magnitudes[c] += std::abs(x(r, c));
      }
    const double n = double(rows);
    const auto got = columns(x);
    REQUIRE(got.shape() == x.shape());
    // As for rows, doubled exactly.
    LOOM_CHECK_REPORT(compare_scaled(
        got,
        [&](std::size_t i) { return 2 * (x.data()[i] - sums[i % cols] / n); },
        [&](std::size_t i) { return 2 * (std::abs(x.data()[i]) + magnitudes[i % cols] / n); },
        {(n + 3) * u_f, 0},
        "2 * (x - mean(x, axes<0>, keepdims)) of " + what));
    LOOM_CHECK_REPORT(compare_same(got, center_columns(x), what + ": fused vs eager"));
    auto single = columns;
    single.set_threads(1);
    LOOM_CHECK_REPORT(compare_same(single(x), got, what + ": one thread vs default"));
  }
  for (const loom::shape& s :
       {make_shape({3, 5, 4}), make_shape({2, 130, 3}), make_shape({4, 1, 2})}) {
    // Positive elements: the sums are well conditioned, within n u of themselves, and the
    // quotient within (n + 1)u.
    cube x(s);
    loom_test::fill_uniform(x, seed++, 0.5, 2);
    const auto got = middle(x);
    LOOM_CHECK_REPORT(compare_with(
        got,
        [&](std::size_t i) {
          const std::size_t a = i / (s.dims[1] * s.dims[2]), c = i % s.dims[2];
          double sum = 0;
          for (std::size_t b = 0; b < s.dims[1]; ++b) sum += x(a, b, c);
          return x.data()[i] / sum;
        },
        {(double(s.dims[1]) + 1) * u_f, 0},
        "x / sum(x, axes<1>, keepdims) of " + s.to_string()));
  }
}

TEST_CASE("a sum over many short rows rounds like a long one", "[reduce][accuracy]") {
  // x - t broadcasts t over the rows, so the walk cannot merge [n, 3] into one row of 3n
  // elements: each row ends before a SIMD block fills. Folded one element at a time, such a
  // sum of 300000 floats was 7e-5 off; folded in blocks, as a long row, it is within 1e-6.
  auto m = loom::compile([](auto x, auto t) { return loom::mean(loom::square(x - t)); },
                         loom::input<float, extents<dyn, 3>>{},
                         loom::input<float, extents<3>>{});
  loom::tensor<float, extents<dyn, 3>> x(100000);
  loom::tensor<float, extents<3>> t;
  fill_uniform(x, 71, 0, 1);
  fill_uniform(t, 72, 0, 0.5);
  double want = 0;
  for (std::size_t i = 0; i < x.extent(0); ++i)
    for (std::size_t j = 0; j < 3; ++j) {
      const double d = double(x(i, j)) - double(t(j));
      want += d * d;
    }
  want /= double(x.size());
  CHECK(std::abs(m(x, t)() - want) <= 1e-6 * want);
}

TEST_CASE("a reduction over a long leading axis folds blocks of columns, rounding as a row does",
          "[reduce][accuracy]") {
  // [n, 67] over axis 0: each lane of a block folds one column; every 64 rows the running
  // values join a second set, so 100000 floats round as pieces of 64 (within 1e-6), not as one
  // serial sum. 67 columns: a SIMD block and three single ones per row.
  auto m = loom::compile(
      [](auto x) {
        return std::make_tuple(loom::mean(loom::square(x), loom::axes<0>),
                               loom::max(x, loom::axes<0>));
      },
      loom::input<float, extents<dyn, 67>>{});
  loom::tensor<float, extents<dyn, 67>> x(100000);
  fill_uniform(x, 73, 0, 1);
  const auto [mean_sq, top] = m(x);
  for (std::size_t j = 0; j < 67; ++j) {
    double want = 0, high = 0;
    for (std::size_t i = 0; i < x.extent(0); ++i) {
      want += double(x(i, j)) * double(x(i, j));
      high = std::max(high, double(x(i, j)));
    }
    want /= double(x.extent(0));
    CHECK(std::abs(mean_sq(j) - want) <= 1e-6 * want);
    CHECK(top(j) == float(high));
  }
}

TEST_CASE("a reduction over a leading axis gives the same bits on any thread count",
          "[reduce][threads]") {
  // exp's block and single-element forms may round differently: which one an element takes
  // must not depend on where the threads' shares of the columns start (30000 columns over 3
  // threads: 10000 each, not a multiple of 64).
  const auto model = [](const auto& x) {
    return loom::sum(loom::exp(x), loom::axes<0>);
  };
  auto single = loom::compile(model, loom::input<float, extents<dyn, dyn>>{});
  auto three = loom::compile(model, loom::input<float, extents<dyn, dyn>>{});
  single.set_threads(1);
  three.set_threads(3);
  for (const std::size_t rows : {2, 70}) {
    mat x(rows, 30000);
    fill_signed(x, 1800 + std::uint32_t(rows));
    LOOM_CHECK_REPORT(
        compare_same(three(x), single(x), text(rows, 30000) + ": three threads vs one"));
  }
}

TEST_CASE("long rows: exact integer sums and the same bits on any thread count",
          "[reduce][threads]") {
  // Integer-valued floats in [-8, 8]: every partial sum is an integer of magnitude below 2^24,
  // exact in f32 in any order, so a lost or repeated element cannot hide in the tolerance.
  const auto integers = [](auto& t, std::uint32_t seed) {
    loom_test::fill_with(t, seed, std::uniform_int_distribution<int>(-8, 8));
  };
  const auto rows_model = [](const auto& x) {
    return std::make_tuple(loom::sum(x, loom::axes<-1>),
                           loom::mean(x, loom::axes<-1>),
                           loom::max(x, loom::axes<-1>),
                           loom::argmax(x, loom::axes<-1>));
  };
  const auto columns_model = [](const auto& x) {
    return std::make_tuple(
        loom::sum(x, loom::axes<0>), loom::min(x, loom::axes<0>), loom::argmax(x, loom::axes<0>));
  };
  auto rows = loom::compile(rows_model, loom::input<float, extents<dyn, dyn>>{});
  auto columns = loom::compile(columns_model, loom::input<float, extents<dyn, dyn>>{});
  static_assert(decltype(rows)::kernel_count == 1, "reductions of the same rows share a pass");

  std::uint32_t seed = 1700;
  for (const auto& [r, c] : std::vector<std::pair<std::size_t, std::size_t>>{
           {1, 1 << 16}, {1, 70001}, {4, 70001}, {3, 1 << 16}, {70001, 4}, {1 << 16, 3}}) {
    const std::string what = text(r, c);
    mat x(r, c);
    for (const bool exact : {true, false}) {
      if (exact)
        integers(x, seed++);
      else
        fill_signed(x, seed++);
      const std::string how = what + (exact ? " integers" : " random");
      const auto [sum, mean, max, at] = rows(x);
      const auto [col_sum, col_min, col_at] = columns(x);
      const expected_reduction want_sum =
          reduction_reference(red::sum, x.data(), x.shape(), 2u, false);
      const expected_reduction want_col =
          reduction_reference(red::sum, x.data(), x.shape(), 1u, false);
      if (exact) {
        LOOM_CHECK_REPORT(compare_with(
            sum, [&](std::size_t i) { return want_sum.value[i]; }, {}, how + " row sums"));
        LOOM_CHECK_REPORT(compare_with(
            col_sum, [&](std::size_t i) { return want_col.value[i]; }, {}, how + " column sums"));
        LOOM_CHECK_REPORT(compare_with(
            mean,
            [&](std::size_t i) { return want_sum.value[i] / double(c); },
            {u_f, 0},
            how + " row means"));
      } else {
        LOOM_CHECK_REPORT(against(sum, want_sum, red::sum, how + " row sums"));
        LOOM_CHECK_REPORT(against(col_sum, want_col, red::sum, how + " column sums"));
      }
      LOOM_CHECK_REPORT(against(max,
                                reduction_reference(red::max, x.data(), x.shape(), 2u, false),
                                red::max,
                                how + " row max"));
      LOOM_CHECK_REPORT(against(at,
                                reduction_reference(red::argmax, x.data(), x.shape(), 2u, false),
                                red::argmax,
                                how + " row argmax"));
      LOOM_CHECK_REPORT(against(col_min,
                                reduction_reference(red::min, x.data(), x.shape(), 1u, false),
                                red::min,
                                how + " column min"));
      LOOM_CHECK_REPORT(against(col_at,
                                reduction_reference(red::argmax, x.data(), x.shape(), 1u, false),
                                red::argmax,
                                how + " column argmax"));

      for (const int threads : {1, 3}) {
        auto other_rows = rows;
        auto other_columns = columns;
        other_rows.set_threads(threads);
        other_columns.set_threads(threads);
        const auto [sum2, mean2, max2, at2] = other_rows(x);
        const auto [col_sum2, col_min2, col_at2] = other_columns(x);
        const std::string on = how + " on " + std::to_string(threads) + " thread(s) vs default: ";
        LOOM_CHECK_REPORT(compare_same(sum2, sum, on + "row sums"));
        LOOM_CHECK_REPORT(compare_same(mean2, mean, on + "row means"));
        LOOM_CHECK_REPORT(compare_same(max2, max, on + "row max"));
        LOOM_CHECK_REPORT(compare_same(at2, at, on + "row argmax"));
        LOOM_CHECK_REPORT(compare_same(col_sum2, col_sum, on + "column sums"));
        LOOM_CHECK_REPORT(compare_same(col_min2, col_min, on + "column min"));
        LOOM_CHECK_REPORT(compare_same(col_at2, col_at, on + "column argmax"));
      }
    }
  }
}
