// Named dynamic extents (loom::dims): inputs that give a dynamic extent one name are one
// size, checked once per call, and the planner fuses across them as across one input.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "../common/attention_reference.hpp"
#include "test_support.hpp"

namespace {

using loom::dims;
using loom::dyn;
using loom::extents;
using vec = loom_test::vec<float>;

struct rows;
struct tokens;

using rows_vec = loom::input<float, extents<dyn>, dims<rows>>;

vec random_vec(std::size_t n, unsigned seed) {
  vec v(n);
  loom_test::fill_uniform(v, seed, -3, 3);
  return v;
}

auto two_outputs = [](auto a, auto b) {
  return std::make_tuple(a * 2.f, b + 1.f);
};

}  // namespace

TEST_CASE("outputs of inputs with one named extent share a pass", "[dims]") {
  auto named = loom::compile(two_outputs, rows_vec{}, rows_vec{});
  auto unnamed = loom::compile(two_outputs, loom_test::vec_in{}, loom_test::vec_in{});
  STATIC_REQUIRE(decltype(named)::kernel_count == 1);
  STATIC_REQUIRE(decltype(unnamed)::kernel_count == 2);
  for (std::size_t n : loom_test::sizes) {
    const vec a = random_vec(n, 1), b = random_vec(n, 2);
    const auto [twice, plus_one] = named(a, b);
    for (std::size_t i = 0; i < n; ++i) {
      REQUIRE(twice(i) == 2 * a(i));
      REQUIRE(plus_one(i) == Approx(double(b(i)) + 1).margin(1e-6));
    }
  }
}

TEST_CASE("inputs that name one extent must agree on it", "[dims][errors]") {
  auto named = loom::compile(two_outputs, rows_vec{}, rows_vec{});
  const vec a = random_vec(3, 3), b = random_vec(4, 4);
  const std::string message = loom_test::shape_error_message([&] { (void)named(a, b); });
  CHECK(message.find("loom: inputs 0 and 1 name an extent ") == 0);
  CHECK(message.find("rows") != std::string::npos);
  CHECK(message.find("but input 0 has shape [3] and input 1 has shape [4]") != std::string::npos);
  vec out_a(3), out_b(4);
  loom_test::poison(out_a);
  loom_test::poison(out_b);
  CHECK_THROWS_AS(named.run(std::tie(out_a, out_b), a, b), loom::shape_error);
  for (float v : out_a) REQUIRE(loom_test::is_poison(v));
  for (float v : out_b) REQUIRE(loom_test::is_poison(v));
}

TEST_CASE("a name joins extents of different axes and ranks", "[dims]") {
  // x is [tokens, 8], lengths is [tokens]: x's rows and the vector's length are one size.
  auto m = loom::compile(
      [](auto x, auto lengths) {
        return std::make_tuple(loom::sum(x, loom::axes<1>), lengths * 0.5f);
      },
      loom::input<float, extents<dyn, 8>, dims<tokens, loom::unnamed>>{},
      loom::input<float, extents<dyn>, dims<tokens>>{});
  STATIC_REQUIRE(decltype(m)::kernel_count == 1);
  loom::tensor<float, extents<dyn, 8>> x(37);
  loom_test::fill_uniform(x, 5, -1, 1);
  const vec lengths = random_vec(37, 6);
  const auto [sums, halves] = m(x, lengths);
  for (std::size_t t = 0; t < 37; ++t) {
    double want = 0;
    for (std::size_t j = 0; j < 8; ++j) want += x(t, j);
    REQUIRE(sums(t) == Approx(want).margin(1e-5));
    REQUIRE(halves(t) == 0.5f * lengths(t));
  }
  REQUIRE_THROWS_AS(m(x, vec(36)), loom::shape_error);
}

TEST_CASE("scripted placeholders take names too", "[dims][script]") {
  loom::placeholder<0, float, extents<dyn>, dims<rows>> a;
  loom::placeholder<1, float, extents<dyn>, dims<rows>> b;
  auto m = loom::compile(two_outputs(a, b));
  STATIC_REQUIRE(decltype(m)::kernel_count == 1);
  const vec x = random_vec(70001, 7), y = random_vec(70001, 8);
  const auto [twice, plus_one] = m(x, y);
  for (std::size_t i = 0; i < x.size(); i += 97) {
    REQUIRE(twice(i) == 2 * x(i));
    REQUIRE(plus_one(i) == Approx(double(y(i)) + 1).margin(1e-6));
  }
}

namespace {

constexpr std::size_t d = 16;

// An attention block's tail: softmax(q k^T / 4) v plus a residual, then layer norm.
auto attend = [](auto x, auto residual, auto wq, auto wk, auto wv) {
  auto q = loom::matmul(x, wq);
  auto k = loom::matmul(x, wk);
  auto v = loom::matmul(x, wv);
  auto p = loom::softmax(loom::matmul(q, loom::transpose(k)) * loom::lit<0.25f>);
  return loom::layer_norm(loom::matmul(p, v) + residual, 1e-5);
};

}  // namespace

TEST_CASE("attention with a residual from another input of the named extent fuses it",
          "[dims][attention]") {
  using w = loom::input<float, extents<d, d>>;
  using named = loom::input<float, extents<dyn, d>, dims<tokens, loom::unnamed>>;
  auto from_input = loom::compile(attend, named{}, named{}, w{}, w{}, w{});
  auto from_x =
      loom::compile([](auto x, auto wq, auto wk, auto wv) { return attend(x, x, wq, wk, wv); },
                    named{},
                    w{},
                    w{},
                    w{});
  // The residual joins the last GEMM's epilogue in both (an unnamed [?, 16] residual does
  // too, as a likely partner that each call checks; see the guide).
  STATIC_REQUIRE(decltype(from_input)::kernel_count == decltype(from_x)::kernel_count);

  const std::size_t n = 29;
  loom::tensor<float, extents<dyn, d>> x(n), r(n);
  loom::tensor<float, extents<d, d>> wq, wk, wv;
  loom_test::fill_normal(x, 9, 0, 1);
  loom_test::fill_normal(r, 10, 0, 1);
  loom_test::fill_normal(wq, 11, 0, 0.25);
  loom_test::fill_normal(wk, 12, 0, 0.25);
  loom_test::fill_normal(wv, 13, 0, 0.25);
  const auto out = from_input(x, r, wq, wk, wv);

  const auto want = loom_test::attention_reference(
      x, wq, wk, wv, 0.25, [](std::size_t, std::size_t) { return true; }, r, 1e-5);
  for (std::size_t t = 0; t < n; ++t)
    for (std::size_t j = 0; j < d; ++j) REQUIRE(out(t, j) == Approx(want[t * d + j]).margin(2e-4));
  REQUIRE_THROWS_AS(from_input(x, loom::tensor<float, extents<dyn, d>>(n + 1), wq, wk, wv),
                    loom::shape_error);
}
