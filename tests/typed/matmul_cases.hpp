#pragma once

// matmul (include/loom/api/structure.hpp) on every backend (backends.hpp): 2-D products at the
// degenerate shapes of tests/common/matmul_reference.hpp and a larger one, batched products
// (a batch against a batch, and against one shared matrix), a transposed operand read in
// place with a broadcast bias as the epilogue, and a static inner extent; against the
// double-precision product of matmul_reference.hpp.

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>

#include "../common/matmul_reference.hpp"
#include "backends.hpp"
#include "models.hpp"

namespace loom_typed {

// A product of k terms rounds like a sum of k: the bound scales with the sum of the terms'
// magnitudes, with room for any summation order (blocked, or split over k): 8 + 2 sqrt(k)
// unit roundoffs of 2, plus an ulp of 1 for sums that cancel to nothing.
template <class T>
tolerance product_tol(std::size_t k) {
  const double eps = 2 * unit_roundoff<T>;
  return {(8 + 2 * std::sqrt(double(k))) * eps, eps};
}

template <class TestType, class Got, class A, class B>
void check_product(const Got& got,
                   const loom::shape& want_shape,
                   std::size_t k,
                   A&& a,
                   B&& b,
                   const std::string& what) {
  using T = typename TestType::value_type;
  const reference want = loom_test::product_reference(want_shape, k, a, b);
  LOOM_CHECK_REPORT(compare(got, want, product_tol<T>(k), label<TestType>(what)));
}

inline std::string gemm_text(std::size_t rows, std::size_t k, std::size_t cols) {
  return std::to_string(rows) + "x" + std::to_string(k) + "x" + std::to_string(cols);
}

}  // namespace loom_typed

TEMPLATE_PRODUCT_TEST_CASE("typed: matmul 2-D at degenerate and larger shapes",
                           "[typed][matmul]",
                           LOOM_TYPED_BACKENDS,
                           LOOM_TYPED_FLOATS) {
  using namespace loom_typed;
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  using mat = loom::tensor<T, extents<dyn, dyn>>;
  auto m = B::compile(
      matmul_model, loom::input<T, extents<dyn, dyn>>{}, loom::input<T, extents<dyn, dyn>>{});
  std::uint32_t seed = 90;
  for (const auto& [rows, k, cols] : loom_test::degenerate_gemms_and({{64, 33, 65}})) {
    const mat a = random_tensor<T, extents<dyn, dyn>>(make_shape({rows, k}), seed++, -1, 1);
    const mat b = random_tensor<T, extents<dyn, dyn>>(make_shape({k, cols}), seed++, -1, 1);
    check_product<TestType>(B::run(m, a, b),
                            make_shape({rows, cols}),
                            k,
                            loom_test::reader(a),
                            loom_test::reader(b),
                            "matmul " + gemm_text(rows, k, cols));
  }
}

TEMPLATE_PRODUCT_TEST_CASE("typed: batched matmul, a shared operand, a transposed one, a bias",
                           "[typed][matmul][broadcast]",
                           LOOM_TYPED_BACKENDS,
                           LOOM_TYPED_FLOATS) {
  using namespace loom_typed;
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  using mat = loom::tensor<T, extents<dyn, dyn>>;
  using cube = loom::tensor<T, extents<dyn, dyn, dyn>>;
  using mat_in = loom::input<T, extents<dyn, dyn>>;
  using cube_in = loom::input<T, extents<dyn, dyn, dyn>>;
  std::uint32_t seed = 100;

  SECTION("[B, M, K] x [B, K, N] and [B, M, K] x [K, N]") {
    auto m = B::compile(batched_matmul_model, cube_in{}, cube_in{}, mat_in{});
    for (const auto& [batch, rows, k, cols] :
         {std::array<std::size_t, 4>{1, 1, 1, 1}, {3, 5, 7, 4}, {4, 33, 64, 17}}) {
      const cube a =
          random_tensor<T, extents<dyn, dyn, dyn>>(make_shape({batch, rows, k}), seed++, -1, 1);
      const cube b =
          random_tensor<T, extents<dyn, dyn, dyn>>(make_shape({batch, k, cols}), seed++, -1, 1);
      const mat w = random_tensor<T, extents<dyn, dyn>>(make_shape({k, cols}), seed++, -1, 1);
      const auto got = B::run(m, a, b, w);
      const std::string what = std::to_string(batch) + " x " + gemm_text(rows, k, cols);
      const loom::shape out = make_shape({batch, rows, cols});
      check_product<TestType>(std::get<0>(got),
                              out,
                              k,
                              loom_test::reader(a),
                              loom_test::reader(b),
                              "batched matmul " + what);
      check_product<TestType>(std::get<1>(got),
                              out,
                              k,
                              loom_test::reader(a),
                              loom_test::reader(w),
                              "matmul by a shared matrix " + what);
    }
  }

  SECTION("a [M, K] times transpose([N, K]) plus a bias [N]") {
    auto m = B::compile(matmul_epilogue_model, mat_in{}, mat_in{}, loom::input<T, extents<dyn>>{});
    for (const auto& [rows, k, cols] : {loom_test::gemm_dims{1, 1, 1}, {9, 7, 1}, {33, 64, 65}}) {
      const mat a = random_tensor<T, extents<dyn, dyn>>(make_shape({rows, k}), seed++, -1, 1);
      const mat bt = random_tensor<T, extents<dyn, dyn>>(make_shape({cols, k}), seed++, -1, 1);
      const auto bias = random_tensor<T>(make_shape({cols}), seed++, -1, 1);
      // The bias joins the product as one more term of each sum.
      check_product<TestType>(
          B::run(m, a, bt, bias),
          make_shape({rows, cols}),
          k + 1,
          [&](std::size_t, std::size_t i, std::size_t p) {
            return p < k ? loom_test::at(a, 0, i, p) : 1.0;
          },
          [&](std::size_t, std::size_t p, std::size_t j) {
            return p < k ? loom_test::at(bt, 0, j, p) : at(bias, j);
          },
          "matmul(a, transpose(bt)) + bias " + gemm_text(rows, k, cols));
    }
  }

  SECTION("a static inner extent: [?, 16] x [16, ?]") {
    auto m = B::compile(
        matmul_model, loom::input<T, extents<dyn, 16>>{}, loom::input<T, extents<16, dyn>>{});
    for (const auto& [rows, cols] : {std::array<std::size_t, 2>{1, 1}, {20, 33}}) {
      const auto a = random_tensor<T, extents<dyn, 16>>(make_shape({rows, 16}), seed++, -1, 1);
      const auto b = random_tensor<T, extents<16, dyn>>(make_shape({16, cols}), seed++, -1, 1);
      check_product<TestType>(B::run(m, a, b),
                              make_shape({rows, cols}),
                              16,
                              loom_test::reader(a),
                              loom_test::reader(b),
                              "matmul " + gemm_text(rows, 16, cols));
    }
  }
}
