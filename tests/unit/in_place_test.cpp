// Running in place (`run(x, x)`): where the plan allows it, results equal a double-precision
// reference on one and several threads; where it does not (a GEMM's right operand, a view,
// a later read), `loom::alias_error` names both buffers and nothing is written. The refused
// models here are the ones a held-out run found accepted with wrong results.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <cmath>
#include <cstddef>
#include <string>
#include <tuple>
#include <vector>

#include "../common/matmul_reference.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using loom::dyn;
using loom::extents;
using loom_test::at;
using loom_test::fill_uniform;
using loom_test::tolerance;

namespace {

// 192 x 192 = 36864 elements: above loom::cpu::parallel_threshold, so several threads split
// the product's rows.
constexpr std::size_t n = 192;
using square = loom::tensor<float, extents<n, n>>;
using square_input = loom::input<float, extents<n, n>>;

// Products of n floats round like n additions: the bound scales with the sum of |terms|.
constexpr tolerance product_tol{4 * loom_test::eps_f, 1e-6};

// Runs `model` in place over x (input `at` of `inputs`) on 1, 2 and 4 threads and expects it
// refused with alias_error, every element of x untouched.
template <class Model, class... Inputs>
void expect_refused(Model& model, square& x, const std::string& what, Inputs&... inputs) {
  const square before = x;
  for (int threads : {1, 2, 4}) {
    model.set_threads(threads);
    INFO(what << ", " << threads << " threads");
    REQUIRE_THROWS_AS(model.run(x, inputs...), loom::alias_error);
    REQUIRE_THROWS_WITH(model.run(x, inputs...),
                        StartsWith("loom: output 0 (shape [192, 192]) overlaps input") &&
                            Contains("which is read after the output is written"));
    for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(x.data()[i] == before.data()[i]);
  }
}

}  // namespace

TEST_CASE("in place over a GEMM's right operand, or its left through a transpose, is refused",
          "[in_place][matmul][errors]") {
  square w, x;
  fill_uniform(w, 1, -1, 1);
  fill_uniform(x, 2, -1, 1);
  auto plus = loom::compile(
      [](auto w, auto x) { return loom::matmul(w, x) + x; }, square_input{}, square_input{});
  auto times = loom::compile(
      [](auto w, auto x) { return loom::matmul(w, x) * x; }, square_input{}, square_input{});
  auto transposed =
      loom::compile([](auto x, auto w) { return loom::matmul(loom::transpose(x), w) + x; },
                    square_input{},
                    square_input{});
  auto softmax = loom::compile([](auto w, auto x) { return loom::softmax(loom::matmul(w, x)); },
                               square_input{},
                               square_input{});
  auto alone = loom::compile(
      [](auto w, auto x) { return loom::matmul(w, x); }, square_input{}, square_input{});
  expect_refused(plus, x, "matmul(w, x) + x", w, x);
  expect_refused(times, x, "matmul(w, x) * x", w, x);
  expect_refused(transposed, x, "matmul(transpose(x), w) + x", x, w);
  expect_refused(softmax, x, "softmax(matmul(w, x))", w, x);
  expect_refused(alone, x, "matmul(w, x)", w, x);
}

TEST_CASE("in place over a GEMM's left operand is row by row, and allowed", "[in_place][matmul]") {
  // Each block of the product's rows reads the same rows of x, then its epilogue overwrites
  // them: no other block reads them.
  auto residual = loom::compile([](auto x, auto w) { return loom::matmul(x, w) + x; },
                                loom::input<float, extents<dyn, 64>>{},
                                loom::input<float, extents<64, 64>>{});
  loom::tensor<float, extents<64, 64>> w;
  fill_uniform(w, 3, -0.3, 0.3);
  for (int threads : {1, 2, 4}) {
    residual.set_threads(threads);
    loom::tensor<float, extents<dyn, 64>> x(1001);
    fill_uniform(x, 4, -1, 1);
    const auto before = x;
    residual.run(x, x, w);
    const loom_test::reference product = loom_test::product_reference(
        x.shape(),
        64,
        [&](std::size_t, std::size_t i, std::size_t p) { return at(before, 0, i, p); },
        [&](std::size_t, std::size_t p, std::size_t j) { return at(w, 0, p, j); });
    LOOM_CHECK_REPORT(loom_test::compare_scaled(
        x,
        [&](std::size_t i) { return product.value[i] + double(before.data()[i]); },
        [&](std::size_t i) { return product.scale[i] + std::abs(before.data()[i]); },
        product_tol,
        "x w + x in place, " + std::to_string(threads) + " threads"));
  }
}

TEST_CASE("a hook's value is its operand's buffer: a later read of it forbids running in place",
          "[in_place][hooks][errors]") {
  // The hook keeps x's buffer; the sum reads it after x * 2 was written over x.
  auto m = loom::compile(
      [](auto x) {
        auto y = loom::hook(x, [](loom::tensor_view<const float, extents<dyn>>) {});
        return std::make_tuple(y * 2.f, loom::sum(y));
      },
      loom::input<float, extents<dyn>>{});
  loom::tensor<float, extents<dyn>> x(100);
  fill_uniform(x, 5, -1, 1);
  const auto before = x;
  loom::tensor<float, extents<>> total;
  REQUIRE_THROWS_AS(m.run(std::tie(x, total), x), loom::alias_error);
  for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(x(i) == before(i));
  loom::tensor<float, extents<dyn>> twice(100);
  m.run(std::tie(twice, total), x);
  double want = 0;
  for (std::size_t i = 0; i < x.size(); ++i) want += x(i);
  CHECK(total() == Approx(want).margin(1e-5));
}

TEST_CASE("a model that returns its input may run over it; outputs may not overlap",
          "[in_place][errors]") {
  auto identity = loom::compile([](auto x) { return x; }, loom::input<float, extents<dyn>>{});
  loom::tensor<float, extents<dyn>> x(10);
  fill_uniform(x, 6, -1, 1);
  const auto before = x;
  identity.run(x, x);
  for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(x(i) == before(i));

  auto both = loom::compile([](auto x) { return std::make_tuple(x + 1.f, x * 2.f); },
                            loom::input<float, extents<dyn>>{});
  std::vector<float> storage(15, 7.f);
  loom::tensor_view<float, extents<dyn>> first(storage.data(), 10), second(storage.data() + 5, 10);
  REQUIRE_THROWS_AS(both.run(std::tie(first, second), x), loom::alias_error);
  REQUIRE_THROWS_WITH(both.run(std::tie(first, second), x),
                      "loom: outputs 0 and 1 overlap (shapes [10] and [10]); give each result "
                      "its own buffer");
  for (float v : storage) REQUIRE(v == 7.f);
}
