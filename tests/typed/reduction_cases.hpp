#pragma once

// Every reduction of include/loom/api/reduce.hpp (sum, mean, max, min, prod, argmax) on every
// backend (backends.hpp), over the last axis, a leading axis with keepdims, all axes, and
// two axes with keepdims, of a rank-3 input with dynamic extents; against the
// double-precision reference of tests/common/reduction_reference.hpp.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "../common/reduction_reference.hpp"
#include "backends.hpp"
#include "models.hpp"

namespace loom_typed {

using loom_test::red;

template <class T>
using cube_of = loom::tensor<T, extents<dyn, dyn, dyn>>;
template <class T>
using cube_input = loom::input<T, extents<dyn, dyn, dyn>>;

// [A, B, C]: one element; small; rows of 130 (packs and a tail on both backends) under a
// leading axis of 4.
inline constexpr std::size_t reduction_shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {4, 3, 130}};

// Floating values: a random sign times a magnitude in [0.55, 1.55], whose log averages about
// 0, so that products over every element neither overflow nor underflow, and never 0. i32: in
// [-3, 3], whose products wrap modulo 2^32 (as loom's i32 arithmetic does, and the reference).
template <class T>
cube_of<T> reduction_input(const loom::shape& s, std::uint32_t seed) {
  cube_of<T> x(s);
  if constexpr (std::is_floating_point_v<T>) {
    loom_test::fill_with(x, seed, [](std::mt19937& gen) {
      const double magnitude = std::uniform_real_distribution<double>(0.55, 1.55)(gen);
      return std::bernoulli_distribution(0.5)(gen) ? magnitude : -magnitude;
    });
  } else {
    loom_test::fill_int(x, seed, -3, 3);
  }
  return x;
}

// The bound for reduction k of n elements of T: sums round by up to about n (pairwise or
// blocked orders: 256 + 4 sqrt n) unit roundoffs of the sum of the magnitudes; mean adds the
// division; prod rounds once per element, relative to the product. max, min and argmax
// choose, and i32 sums and products are exact (the mean of i32 is an f32 division of an
// exact sum).
template <class T>
std::pair<reference, tolerance> reduction_bound(red k, const loom_test::expected_reduction& e) {
  reference r{e.shape, e.value, {}};
  const double u = unit_roundoff<T>, n = double(e.count);
  const double sum_rel = u * std::min(n, 256 + 4 * std::sqrt(n));
  if constexpr (!std::is_floating_point_v<T>) {
    if (k == red::mean) return {r, {2 * loom_test::u_f, 0}};
    return {r, {}};
  }
  switch (k) {
    case red::sum:
      r.scale = e.scale;
      return {r, {sum_rel, 0}};
    case red::mean:
      r.scale = e.scale;
      return {r, {sum_rel + 2 * u, 0}};
    case red::prod:
      return {r, {(n + 2) * u, 0}};
    default:
      return {r, {}};
  }
}

template <class TestType, red K, class Got, class X>
void check_reduction(const Got& got, const X& x, unsigned mask, bool keep, const std::string& how) {
  using T = typename TestType::value_type;
  const auto e = loom_test::reduction_reference(K, x.data(), x.shape(), mask, keep);
  const auto [want, tol] = reduction_bound<T>(K, e);
  LOOM_CHECK_REPORT(compare(got,
                            want,
                            tol,
                            label<TestType>(std::string(loom_test::name_of(K)) + " " + how +
                                            " of " + x.shape().to_string())));
}

// Checks the results of one of the models above, in every_reduction's order.
template <class TestType, class Got, class X>
void check_every_reduction(
    const Got& got, const X& x, unsigned mask, bool keep, const std::string& how) {
  check_reduction<TestType, red::sum>(std::get<0>(got), x, mask, keep, how);
  check_reduction<TestType, red::mean>(std::get<1>(got), x, mask, keep, how);
  check_reduction<TestType, red::max>(std::get<2>(got), x, mask, keep, how);
  check_reduction<TestType, red::min>(std::get<3>(got), x, mask, keep, how);
  check_reduction<TestType, red::prod>(std::get<4>(got), x, mask, keep, how);
  if constexpr (std::tuple_size_v<Got> == 6)
    check_reduction<TestType, red::argmax>(std::get<5>(got), x, mask, keep, how);
}

}  // namespace loom_typed

TEMPLATE_PRODUCT_TEST_CASE("typed: sum mean max min prod argmax over last, leading, all axes",
                           "[typed][reduce]",
                           LOOM_TYPED_BACKENDS,
                           LOOM_TYPED_NUMBERS) {
  using namespace loom_typed;
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  auto last = B::compile(reduce_last_model, cube_input<T>{});
  auto leading_kept = B::compile(reduce_leading_kept_model, cube_input<T>{});
  auto all = B::compile(reduce_all_model, cube_input<T>{});
  auto two_kept = B::compile(reduce_two_kept_model, cube_input<T>{});
  std::uint32_t seed = 70;
  for (const auto& [a, b, c] : reduction_shapes) {
    const cube_of<T> x = reduction_input<T>(make_shape({a, b, c}), seed++);
    check_every_reduction<TestType>(B::run(last, x), x, 0b100, false, "axes<-1>");
    check_every_reduction<TestType>(B::run(leading_kept, x), x, 0b001, true, "axes<0> keepdims");
    check_every_reduction<TestType>(B::run(all, x), x, 0b111, false, "all axes");
    check_every_reduction<TestType>(B::run(two_kept, x), x, 0b101, true, "axes<0, 2> keepdims");
  }
}
