// loom::take_along_axis and cross_entropy on class indices: values against direct loops, on
// random inputs (negative indices included), their errors, and their gradients against
// central differences in double precision (tests/common/finite_differences.hpp).
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "../common/finite_differences.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using loom::dyn;
using loom::extents;
using loom_test::check_gradient;
using loom_test::normal_tensor;

namespace {

template <class E, class... D>
loom::tensor<std::int32_t, E> indices_in(std::uint32_t seed, int lo, int hi, D... dims) {
  loom::tensor<std::int32_t, E> t(dims...);
  loom_test::fill_int(t, seed, lo, hi);
  return t;
}

// The rows of one batch: the indices and the weights have one (dynamic) row count.
struct batch;
template <class T, std::size_t N>
using rows_of = loom::input<T, extents<dyn, N>, loom::dims<batch, loom::unnamed>>;

int wrapped(int index, std::size_t extent) {
  return index < 0 ? index + int(extent) : index;
}

}  // namespace

TEST_CASE("take_along_axis reads along each axis of a rank-3 tensor") {
  auto x = normal_tensor<extents<dyn, 4, 5>>(1, 3);
  SECTION("axis 1, more indices than the axis has elements, negative ones too") {
    auto at = indices_in<extents<dyn, 7, 5>>(2, -4, 3, 3);
    const auto got =
        loom::compile([](auto v, auto i) { return loom::take_along_axis<1>(v, i); }, x, at)(x, at);
    REQUIRE(got.shape() == at.shape());
    for (std::size_t a = 0; a < 3; ++a)
      for (std::size_t j = 0; j < 7; ++j)
        for (std::size_t c = 0; c < 5; ++c)
          CHECK(got(a, j, c) == x(a, std::size_t(wrapped(at(a, j, c), 4)), c));
  }
  SECTION("axis -1 (the last), eagerly on tensors") {
    auto at = indices_in<extents<dyn, 4, 2>>(3, -5, 4, 3);
    const auto got = loom::take_along_axis<-1>(x, at);
    for (std::size_t a = 0; a < 3; ++a)
      for (std::size_t b = 0; b < 4; ++b)
        for (std::size_t j = 0; j < 2; ++j)
          CHECK(got(a, b, j) == x(a, b, std::size_t(wrapped(at(a, b, j), 5))));
  }
  SECTION("axis 0") {
    auto at = indices_in<extents<1, 4, 5>>(4, 0, 2);
    const auto got =
        loom::compile([](auto v, auto i) { return loom::take_along_axis<0>(v, i); }, x, at)(x, at);
    for (std::size_t b = 0; b < 4; ++b)
      for (std::size_t c = 0; c < 5; ++c) CHECK(got(0, b, c) == x(std::size_t(at(0, b, c)), b, c));
  }
}

TEST_CASE("take_along_axis errors name the index or both shapes") {
  auto x = normal_tensor<extents<dyn, dyn>>(5, 3, 4);
  const auto take = loom::compile([](auto v, auto i) { return loom::take_along_axis<1>(v, i); },
                                  loom::input<double, extents<dyn, dyn>>{},
                                  loom::input<std::int32_t, extents<dyn, dyn>>{});
  loom::tensor<std::int32_t, extents<dyn, dyn>> at(3, 2);
  at.fill(1);
  at(2, 1) = 4;
  CHECK_THROWS_WITH(take(x, at), Contains("index 4 is outside an axis of extent 4"));
  at(2, 1) = -5;
  CHECK_THROWS_AS(take(x, at), loom::index_error);
  loom::tensor<std::int32_t, extents<dyn, dyn>> short_rows(2, 2);
  short_rows.fill(0);
  CHECK_THROWS_WITH(take(x, short_rows),
                    Contains("indices of shape [2, 2]") && Contains("the operand's shape [3, 4]"));
}

TEST_CASE("grad of take_along_axis adds each cotangent where it was read") {
  // Indices repeat along the axis, so some elements are read twice and some never.
  auto x = normal_tensor<extents<dyn, 6>>(6, 4);
  auto at = indices_in<extents<dyn, 9>>(7, -6, 5, 4);
  auto w = normal_tensor<extents<dyn, 9>>(8, 4);
  loom_test::check_gradient_as<rows_of<double, 6>, rows_of<std::int32_t, 9>, rows_of<double, 9>>(
      [](const auto& v, const auto& i, const auto& u) {
        return loom::sum(loom::square(loom::take_along_axis<-1>(loom::tanh(v), i)) * u);
      },
      x,
      at,
      w);
}

TEST_CASE("cross_entropy on class indices is torch's, with its gradient") {
  const std::size_t rows = 7, classes = 5;
  auto logits = normal_tensor<extents<dyn, dyn>>(9, rows, classes);
  auto labels = indices_in<extents<dyn>>(10, -int(classes), int(classes) - 1, rows);
  const auto loss = loom::cross_entropy(logits, labels);
  double want = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    double m = -INFINITY, s = 0;
    for (std::size_t c = 0; c < classes; ++c) m = std::max(m, logits(r, c));
    for (std::size_t c = 0; c < classes; ++c) s += std::exp(logits(r, c) - m);
    want -= logits(r, std::size_t(wrapped(labels(r), classes))) - m - std::log(s);
  }
  want /= double(rows);
  CHECK(std::abs(*loss.data() - want) <= 1e-14 * std::abs(want));
  check_gradient(
      [](const auto& l, const auto& c) { return loom::cross_entropy(l, c); }, logits, labels);
}
