// What the CPU's passes over a group's rows do beyond the plan: a value a reduce step and a
// later step both compute is stashed in the output's buffer once (softmax's exp), and a
// division by a row's own value is a multiplication by its inverse. Results against double
// references on random inputs, odd row lengths, threads, running in place, and the edges
// where the inverse is not used.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "test_support.hpp"

using loom::dyn;
using loom::extents;
using loom_test::compare_same;
using loom_test::compare_with;
using loom_test::fill_normal;
using loom_test::finf;
using loom_test::fnan;

namespace {

using mat = loom::tensor<float, extents<dyn, dyn>>;
using mat_in = loom::input<float, extents<dyn, dyn>>;
using rows_in = loom::input<float, extents<dyn, 1024>>;
using loom::cpu::stash_plan;

constexpr double eps_f = std::numeric_limits<float>::epsilon();
// As composites_test: exp's argument x - max rounds by up to |x - max| / 2 ulps (about 10 ulps
// for the spreads here), the row sum folds up to 1000 terms, and 1 / sum adds one rounding.
constexpr loom_test::tolerance softmax_tol{32 * eps_f, 1e-30};

const auto softmax_fn = [](const auto& x) {
  return loom::softmax(x);
};

// Softmax of each row of x, in double.
std::vector<double> softmax_reference(const mat& x) {
  const std::size_t rows = x.extent(0), cols = x.extent(1);
  std::vector<double> want(rows * cols);
  for (std::size_t r = 0; r < rows; ++r) {
    double m = -std::numeric_limits<double>::infinity(), sum = 0;
    for (std::size_t c = 0; c < cols; ++c) m = std::max(m, double(x(r, c)));
    for (std::size_t c = 0; c < cols; ++c) sum += want[r * cols + c] = std::exp(x(r, c) - m);
    for (std::size_t c = 0; c < cols; ++c) want[r * cols + c] /= sum;
  }
  return want;
}

// The node a model's stash plan keeps, and the node whose buffer keeps it (npos: none).
template <class Model>
std::pair<std::size_t, std::size_t> stash_of() {
  using plan = stash_plan<typename Model::graph_type>;
  for (std::size_t e = 0; e < plan::N; ++e)
    if (plan::stashes.into[e] != plan::npos) return {e, plan::stashes.into[e]};
  return {plan::npos, plan::npos};
}

}  // namespace

TEST_CASE("softmax stashes exp(x - max) in its output and reads it back", "[row_pass][stash]") {
  auto fixed = loom::compile(softmax_fn, rows_in{});
  using G = decltype(fixed)::graph_type;
  const auto [kept, into] = stash_of<decltype(fixed)>();
  REQUIRE(kept != stash_plan<G>::npos);
  CHECK(into == G::outputs[0]);
  CHECK(loom::graph_to_text(fixed.graph()).find("%" + std::to_string(kept) + " = exp") !=
        std::string::npos);

  // Layer norm recomputes only x - mean, which costs less than a store and a load.
  auto norm = loom::compile([](auto x) { return loom::layer_norm(x, 1e-5); }, rows_in{});
  CHECK(stash_of<decltype(norm)>().first == stash_plan<decltype(norm)::graph_type>::npos);

  std::uint32_t seed = 7;
  // 1100 rows: over 2^20 elements, where the rows are walked one per block, not four.
  for (std::size_t rows : {1, 3, 64, 1100}) {
    mat x(rows, 1024);
    fill_normal(x, seed++, 0, 4);
    const std::vector<double> want = softmax_reference(x);
    loom::tensor<float, extents<dyn, 1024>> out(rows);
    out.fill(fnan);
    fixed.run(out, loom::tensor_view<const float, extents<dyn, 1024>>(x.data(), x.shape()));
    LOOM_CHECK_REPORT(compare_with(
        out, [&](std::size_t i) { return want[i]; }, softmax_tol, "rows of 1024"));
  }
}

TEST_CASE("the stash holds for odd rows, threads and dynamic extents", "[row_pass][stash]") {
  auto m = loom::compile(softmax_fn, mat_in{});
  REQUIRE(stash_of<decltype(m)>().first != stash_plan<decltype(m)::graph_type>::npos);
  std::uint32_t seed = 21;
  // Row lengths with SIMD tails (67, 1000), a single column, rows shorter than a block, and
  // enough rows for two threads to split them.
  const std::vector<std::pair<std::size_t, std::size_t>> shapes{
      {5, 67}, {2, 1000}, {9, 1}, {300, 37}, {700, 129}};
  for (const auto& [rows, cols] : shapes) {
    const std::string what = std::to_string(rows) + "x" + std::to_string(cols);
    mat x(rows, cols);
    fill_normal(x, seed++, 1, 3);
    const std::vector<double> want = softmax_reference(x);
    m.set_threads(1);
    const mat one = m(x);
    LOOM_CHECK_REPORT(compare_with(
        one, [&](std::size_t i) { return want[i]; }, softmax_tol, what + " one thread"));
    m.set_threads(2);
    // Rows never split over threads, so the result does not depend on their number.
    LOOM_CHECK_REPORT(compare_same(m(x), one, what + " two threads"));
  }
}

TEST_CASE("softmax run in place stashes in scratch, not over its input", "[row_pass][stash]") {
  auto m = loom::compile(softmax_fn, mat_in{});
  mat x(40, 300);
  fill_normal(x, 5, 0, 2);
  const std::vector<double> want = softmax_reference(x);
  m.run(x, x);
  LOOM_CHECK_REPORT(compare_with(
      x, [&](std::size_t i) { return want[i]; }, softmax_tol, "in place"));
}

TEST_CASE("a stash goes only into a buffer of its own dtype", "[row_pass][stash]") {
  // The pass stores a bool: exp's floats have no buffer to go to, and are computed twice.
  const auto likely = [](const auto& x) {
    return loom::softmax(x) > loom::lit<0.01f>;
  };
  auto m = loom::compile(likely, mat_in{});
  CHECK(stash_of<decltype(m)>().first == stash_plan<decltype(m)::graph_type>::npos);
  mat x(6, 50);
  fill_normal(x, 9, 0, 3);
  const std::vector<double> want = softmax_reference(x);
  const auto got = m(x);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    wrong += got.data()[i] != (want[i] > 0.01) && std::abs(want[i] - 0.01) > 1e-6;
  CHECK(wrong == 0);

  // With a float output beside it, the stash takes the float's buffer.
  const auto both = [](const auto& x) {
    const auto p = loom::softmax(x);
    return std::make_tuple(p > loom::lit<0.01f>, p);
  };
  auto m2 = loom::compile(both, mat_in{});
  using G2 = decltype(m2)::graph_type;
  CHECK(stash_of<decltype(m2)>().second == G2::outputs[1]);
  const auto [flags, p] = m2(x);
  LOOM_CHECK_REPORT(compare_with(
      p, [&](std::size_t i) { return want[i]; }, softmax_tol, "beside a bool"));
  LOOM_CHECK_REPORT(compare_same(flags, got, "the bool output"));
}

TEST_CASE("dividing by a row's value multiplies by its inverse where that is exact enough",
          "[row_pass][division]") {
  // The row length must be static for the pass to know that `d` is one value per row.
  constexpr std::size_t cols = 131;
  using col_in = loom::input<float, extents<dyn, 1>>;
  auto m = loom::compile(
      [](auto x, auto d) { return x / d; }, loom::input<float, extents<dyn, cols>>{}, col_in{});
  constexpr float tiny = std::numeric_limits<float>::denorm_min() * 64;  // subnormal
  constexpr float huge = std::numeric_limits<float>::max() / 2;          // 1 / huge is subnormal
  const std::vector<float> divisors{3.f,
                                    -7.5f,
                                    1e-30f,
                                    1e30f,
                                    0.f,
                                    -0.f,
                                    finf,
                                    -finf,
                                    fnan,
                                    tiny,
                                    huge,
                                    std::numeric_limits<float>::min()};
  const std::size_t rows = divisors.size();
  loom::tensor<float, extents<dyn, cols>> x(rows);
  fill_normal(x, 3, 0, 10);
  x(4, 0) = 0.f;   // 0 / 0
  x(6, 1) = finf;  // inf / inf
  loom::tensor<float, extents<dyn, 1>> d(rows);
  for (std::size_t r = 0; r < rows; ++r) d(r, 0) = divisors[r];
  const auto got = m(x, d);
  std::size_t rounded_otherwise = 0;  // elements where x * (1 / d) != x / d
  for (std::size_t r = 0; r < rows; ++r) {
    const float inverse = 1.f / divisors[r];
    const bool by_inverse = std::isnormal(inverse);
    for (std::size_t c = 0; c < cols; ++c) {
      rounded_otherwise += got(r, c) != x(r, c) / divisors[r] && std::isfinite(got(r, c));
      INFO("row " << r << " (divisor " << divisors[r] << "), column " << c);
      const float want = x(r, c) / divisors[r];
      const float g = got(r, c);
      if (!by_inverse || !std::isfinite(want)) {
        // The division itself: the same value, infinities and NaN included.
        CHECK(loom_test::same(g, want));
      } else {
        // Two roundings instead of one: within 1.5 ulp of the quotient (2 allowed).
        CHECK(std::abs(double(g) - double(want)) <=
              2 * eps_f * std::abs(double(want)) + 2 * std::numeric_limits<float>::denorm_min());
      }
    }
  }
  // The inverse was used: with 3 and -7.5 as divisors some quotients round differently.
  CHECK(rounded_otherwise > 0);
}
