// matmul: 2-D and batched products through Eigen's GEMM, transposed operands read in place,
// element-wise epilogues fused into the GEMM's group, and shape errors; against a
// double-precision reference loop on random inputs.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <tuple>
#include <utility>

#include "../common/matmul_reference.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using loom::dyn;
using loom::extents;
using loom_test::at;
using loom_test::compare_scaled;
using loom_test::fill_uniform;
using loom_test::reader;
using loom_test::tolerance;

namespace {

using mat = loom::tensor<float, extents<dyn, dyn>>;
using cube = loom::tensor<float, extents<dyn, dyn, dyn>>;
using mat_input = loom::input<float, extents<dyn, dyn>>;
using cube_input = loom::input<float, extents<dyn, dyn, dyn>>;

// Products of k floats round like k additions: the bound scales with the sum of |terms|,
// with room for a different summation order than the reference's.
constexpr tolerance product_tol{4 * std::numeric_limits<float>::epsilon(), 1e-6};

// Compares `got` with the product of a and b (a and b given as functions of (batch, i, j)),
// plus an epilogue applied to each product element.
template <class Got, class A, class B, class Epilogue>
loom_test::report check_product(
    const Got& got, std::size_t k, A&& a, B&& b, Epilogue&& epilogue, const std::string& what) {
  const loom_test::reference product = loom_test::product_reference(got.shape(), k, a, b);
  return compare_scaled(
      got,
      [&](std::size_t i) { return epilogue(i, product.value[i]); },
      [&](std::size_t i) { return product.scale[i] + 1; },
      product_tol,
      what);
}

const auto identity = [](std::size_t, double v) {
  return v;
};

}  // namespace

TEST_CASE("matmul of 2-D matrices, including 1xN and Nx1 shapes", "[matmul]") {
  auto m =
      loom::compile([](auto a, auto b) { return loom::matmul(a, b); }, mat_input{}, mat_input{});
  static_assert(decltype(m)::kernel_count == 1);
  std::uint32_t seed = 1;
  for (const auto& [rows, k, cols] :
       loom_test::degenerate_gemms_and({{3, 5, 7}, {64, 33, 65}, {130, 257, 70}})) {
    mat a(rows, k), b(k, cols);
    fill_uniform(a, seed++, -1, 1);
    fill_uniform(b, seed++, -1, 1);
    const mat c = m(a, b);
    REQUIRE(c.shape() == loom_test::make_shape({rows, cols}));
    const std::string what =
        std::to_string(rows) + "x" + std::to_string(k) + "x" + std::to_string(cols);
    LOOM_CHECK_REPORT(check_product(c, k, reader(a), reader(b), identity, what));
    // Eager mode runs the same GEMM.
    LOOM_CHECK_REPORT(
        check_product(loom::matmul(a, b), k, reader(a), reader(b), identity, what + " eager"));
  }
}

TEST_CASE("matmul with an inner extent of 0 gives zeros", "[matmul]") {
  auto m =
      loom::compile([](auto a, auto b) { return loom::matmul(a, b); }, mat_input{}, mat_input{});
  mat a(3, 0), b(0, 4);
  const mat c = m(a, b);
  REQUIRE(c.shape() == loom_test::make_shape({3, 4}));
  for (float v : c) CHECK(v == 0.f);
  const mat eager = loom::matmul(a, b);
  REQUIRE(eager.shape() == loom_test::make_shape({3, 4}));
  for (float v : eager) CHECK(v == 0.f);
}

TEST_CASE("batched matmul: equal batches, a shared matrix, and a batch of one", "[matmul]") {
  auto m =
      loom::compile([](auto a, auto b) { return loom::matmul(a, b); }, cube_input{}, cube_input{});
  auto shared_rhs =
      loom::compile([](auto a, auto b) { return loom::matmul(a, b); }, cube_input{}, mat_input{});
  auto shared_lhs =
      loom::compile([](auto a, auto b) { return loom::matmul(a, b); }, mat_input{}, cube_input{});
  cube a(4, 5, 6), b(4, 6, 3), one(1, 6, 3);
  mat w(6, 3), lhs(5, 6);
  fill_uniform(a, 11, -1, 1);
  fill_uniform(b, 12, -1, 1);
  fill_uniform(one, 13, -1, 1);
  fill_uniform(w, 14, -1, 1);
  fill_uniform(lhs, 15, -1, 1);
  LOOM_CHECK_REPORT(check_product(m(a, b), 6, reader(a), reader(b), identity, "[4,5,6] x [4,6,3]"));
  LOOM_CHECK_REPORT(
      check_product(m(a, one), 6, reader(a), reader(one), identity, "[4,5,6] x [1,6,3]"));
  LOOM_CHECK_REPORT(
      check_product(shared_rhs(a, w), 6, reader(a), reader(w), identity, "[4,5,6] x [6,3]"));
  LOOM_CHECK_REPORT(
      check_product(shared_lhs(lhs, b), 6, reader(lhs), reader(b), identity, "[5,6] x [4,6,3]"));
  CHECK(m(a, one).shape() == loom_test::make_shape({4, 5, 3}));
  // Eager mode runs the same GEMM rows, batch by batch, over threads from 2^15 results.
  LOOM_CHECK_REPORT(check_product(
      loom::matmul(a, one), 6, reader(a), reader(one), identity, "[4,5,6] x [1,6,3] eager"));
  LOOM_CHECK_REPORT(check_product(
      loom::matmul(lhs, b), 6, reader(lhs), reader(b), identity, "[5,6] x [4,6,3] eager"));
  cube big(8, 70, 33), big_rhs(8, 33, 65);
  fill_uniform(big, 16, -1, 1);
  fill_uniform(big_rhs, 17, -1, 1);
  LOOM_CHECK_REPORT(check_product(loom::matmul(big, big_rhs),
                                  33,
                                  reader(big),
                                  reader(big_rhs),
                                  identity,
                                  "[8,70,33] x [8,33,65] eager"));
}

TEST_CASE("transposed operands are read in place, not copied", "[matmul][views]") {
  auto m = loom::compile(
      [](auto a, auto b, auto c) {
        return std::make_tuple(loom::matmul(a, loom::transpose(b)),
                               loom::matmul(loom::transpose(a), c));
      },
      mat_input{},
      mat_input{},
      mat_input{});
  using plan = decltype(m)::plan;
  // Only the two products are materialised: the transposes are views the GEMM reads.
  std::size_t materialised = 0;
  for (bool b : plan::materialized) materialised += b;
  CHECK(materialised == 2);
  mat a(7, 5), b(9, 5), c(7, 4);
  fill_uniform(a, 21, -1, 1);
  fill_uniform(b, 22, -1, 1);
  fill_uniform(c, 23, -1, 1);
  const auto [abt, atc] = m(a, b, c);
  LOOM_CHECK_REPORT(check_product(
      abt,
      5,
      [&](std::size_t, std::size_t i, std::size_t p) { return at(a, 0, i, p); },
      [&](std::size_t, std::size_t p, std::size_t j) { return at(b, 0, j, p); },
      identity,
      "a x b^T"));
  LOOM_CHECK_REPORT(check_product(
      atc,
      7,
      [&](std::size_t, std::size_t i, std::size_t p) { return at(a, 0, p, i); },
      [&](std::size_t, std::size_t p, std::size_t j) { return at(c, 0, p, j); },
      identity,
      "a^T x c"));
}

TEST_CASE("bias, activation and residual run as the GEMM's epilogue", "[matmul][fusion]") {
  auto layer = [](auto x, auto w, auto b) {
    return loom::relu(loom::matmul(x, w) + b) + x;
  };
  auto m = loom::compile(
      layer, mat_input{}, loom::input<float, extents<64, 64>>{}, loom::input<float, extents<64>>{});
  using plan = decltype(m)::plan;
  static_assert(decltype(m)::kernel_count == 1);
  static_assert(plan::group_count == 1 && plan::groups[0].step_count == 2);
  // Rows above the GEMM's panel height and the threading threshold, with a ragged end.
  for (std::size_t rows : {1u, 3u, 300u, 1000u}) {
    mat x(rows, 64);
    loom::tensor<float, extents<64, 64>> w;
    loom::tensor<float, extents<64>> b;
    fill_uniform(x, 31, -1, 1);
    fill_uniform(w, 32, -0.3, 0.3);
    fill_uniform(b, 33, -0.5, 0.5);
    const auto y = m(x, w, b);
    LOOM_CHECK_REPORT(check_product(
        y,
        64,
        [&](std::size_t, std::size_t i, std::size_t p) { return at(x, 0, i, p); },
        [&](std::size_t, std::size_t p, std::size_t j) { return at(w, 0, p, j); },
        [&](std::size_t flat, double v) {
          return std::max(v + double(b.data()[flat % 64]), 0.0) + double(x.data()[flat]);
        },
        "relu(x w + b) + x, " + std::to_string(rows) + " rows"));
    // Eager mode materialises every op; the results agree within rounding.
    const auto eager = layer(x, w, b);
    LOOM_CHECK_REPORT(loom_test::compare_with(
        y, [&](std::size_t i) { return eager.data()[i]; }, {1e-6, 1e-6}, "fused vs eager"));
  }
}

TEST_CASE("a residual from another input of [?, 64] runs in the GEMM's epilogue",
          "[matmul][fusion]") {
  // x and r are both [?, 64]: their rows are equal unless r has one row (broadcast), which
  // each call checks, running the GEMM and the addition one after another then.
  using rows_input = loom::input<float, extents<dyn, 64>>;
  auto m = loom::compile([](auto x, auto w, auto r) { return loom::matmul(x, w) + r; },
                         rows_input{},
                         loom::input<float, extents<64, 64>>{},
                         rows_input{});
  static_assert(decltype(m)::kernel_count == 1);
  CHECK_THAT(loom::explain(m), Contains("1 kernels, 1 groups"));
  loom::tensor<float, extents<64, 64>> w;
  fill_uniform(w, 34, -0.3, 0.3);
  for (auto [rows, residual_rows] : {std::pair{300u, 300u}, {5u, 1u}, {1u, 7u}}) {
    loom::tensor<float, extents<dyn, 64>> x(rows), r(residual_rows);
    fill_uniform(x, 35, -1, 1);
    fill_uniform(r, 36, -1, 1);
    const auto y = m(x, w, r);
    REQUIRE(y.extent(0) == std::max(rows, residual_rows));
    LOOM_CHECK_REPORT(check_product(
        y,
        64,
        [&](std::size_t, std::size_t i, std::size_t p) { return at(x, 0, rows == 1 ? 0 : i, p); },
        [&](std::size_t, std::size_t p, std::size_t j) { return at(w, 0, p, j); },
        [&](std::size_t flat, double v) {
          return v + double(r.data()[residual_rows == 1 ? flat % 64 : flat]);
        },
        "x w + r, " + std::to_string(rows) + " and " + std::to_string(residual_rows) + " rows"));
  }
}

TEST_CASE("a softmax over a product fuses into the GEMM's group", "[matmul][fusion]") {
  auto scores = [](auto q, auto k) {
    auto s = loom::matmul(q, loom::transpose(k)) * 0.125f;
    auto e = loom::exp(s - loom::max(s, loom::axes<-1>, loom::keepdims));
    return e / loom::sum(e, loom::axes<-1>, loom::keepdims);
  };
  auto m = loom::compile(scores, mat_input{}, mat_input{});
  static_assert(decltype(m)::kernel_count == 1);
  mat q(40, 16), k(33, 16);
  fill_uniform(q, 41, -2, 2);
  fill_uniform(k, 42, -2, 2);
  const mat p = m(q, k);
  for (std::size_t i = 0; i < 40; ++i) {
    double row[33], total = 0, top = -1e300;
    for (std::size_t j = 0; j < 33; ++j) {
      double dot = 0;
      for (std::size_t d = 0; d < 16; ++d) dot += double(q(i, d)) * double(k(j, d));
      row[j] = dot * 0.125;
      top = std::max(top, row[j]);
    }
    for (double& v : row) total += v = std::exp(v - top);
    for (std::size_t j = 0; j < 33; ++j) REQUIRE(p(i, j) == Approx(row[j] / total).epsilon(1e-5));
  }
}

TEST_CASE("matmul in double precision", "[matmul]") {
  auto m = loom::compile([](auto a, auto b) { return loom::matmul(a, b); },
                         loom::input<double, extents<dyn, dyn>>{},
                         loom::input<double, extents<dyn, dyn>>{});
  loom::tensor<double, extents<dyn, dyn>> a(17, 23), b(23, 11);
  fill_uniform(a, 51, -1, 1);
  fill_uniform(b, 52, -1, 1);
  const auto c = m(a, b);
  for (std::size_t i = 0; i < 17; ++i)
    for (std::size_t j = 0; j < 11; ++j) {
      double dot = 0;
      for (std::size_t p = 0; p < 23; ++p) dot += a(i, p) * b(p, j);
      REQUIRE(c(i, j) == Approx(dot).epsilon(1e-13).margin(1e-14));
    }
}

TEST_CASE("matmul shapes that do not multiply throw with both shapes", "[matmul][errors]") {
  auto m =
      loom::compile([](auto a, auto b) { return loom::matmul(a, b); }, mat_input{}, mat_input{});
  mat a(3, 4), b(5, 2);
  fill_uniform(a, 61, -1, 1);
  fill_uniform(b, 62, -1, 1);
  REQUIRE_THROWS_AS(m(a, b), loom::shape_error);
  REQUIRE_THROWS_WITH(m(a, b), Contains("[3, 4]") && Contains("[5, 2]") && Contains("matmul"));
  auto batched =
      loom::compile([](auto a, auto b) { return loom::matmul(a, b); }, cube_input{}, cube_input{});
  cube x(2, 3, 4), y(3, 4, 2);
  REQUIRE_THROWS_WITH(batched(x, y), Contains("[2, 3, 4]") && Contains("[3, 4, 2]"));
  REQUIRE_THROWS_WITH(loom::matmul(a, b), Contains("[3, 4]") && Contains("[5, 2]"));
  REQUIRE_THROWS_WITH(loom::matmul(x, y), Contains("[2, 3, 4]") && Contains("[3, 4, 2]"));
}
