// Output buffers that share memory with an input or with each other, beyond the GEMM cases of
// in_place_test.cpp. Allowed: an output that is exactly an input the pass reads element for
// element and never again (an element-wise model, a softmax, a map after a column mean that
// an earlier pass computed), on one thread and on several, against double references.
// Refused with loom::alias_error, before anything is written: an input read through a view or
// broadcast across rows after the output is written, an output shifted against its input, an
// output over a smaller input or one of another dtype, and outputs that overlap each other.
// Buffers next to each other in one allocation do not overlap, and are allowed.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "../common/rows_reference.hpp"
#include "test_support.hpp"

using loom::dyn;
using loom::extents;
using loom_test::compare_same;
using loom_test::compare_scaled;
using loom_test::eps_f;
using loom_test::error_message;
using loom_test::make_shape;
using loom_test::tolerance;
using loom_test::untouched;

namespace {

using loom_test::mat;
using loom_test::mat_in;
using loom_test::vec_in;
using mat_view = loom::tensor_view<float, extents<dyn, dyn>>;
using vec_view = loom::tensor_view<float, extents<dyn>>;

// 200 x 200 = 40000 elements: above loom::cpu::parallel_threshold, so several threads split
// the passes, and one thread's writes could reach rows another still reads.
constexpr std::size_t n = 200;

mat random_square(std::uint32_t seed) {
  mat x(n, n);
  loom_test::fill_normal(x, seed, 0, 2);
  return x;
}

template <class Run>
std::string alias_message(Run&& run) {
  return error_message<loom::alias_error>(std::forward<Run>(run), "<no loom::alias_error thrown>");
}

std::string input_message(std::size_t output,
                          const std::string& out_shape,
                          std::size_t input,
                          const std::string& in_shape) {
  return "loom: output " + std::to_string(output) + " (shape " + out_shape + ") overlaps input " +
         std::to_string(input) + " (shape " + in_shape +
         "), which is read after the output is written; run it into another buffer";
}

}  // namespace

TEST_CASE("element-wise, softmax and after-a-column-mean models run in place", "[aliasing]") {
  auto silu = loom::compile([](auto x) { return x * loom::sigmoid(x) + 1.f; }, mat_in{});
  auto softmax = loom::compile([](auto x) { return loom::softmax(x); }, mat_in{});
  // The column mean is a pass of its own, complete before the map overwrites x.
  auto centred = loom::compile(
      [](auto x) { return x - loom::mean(x, loom::axes<0>, loom::keepdims); }, mat_in{});
  const int threads = GENERATE(1, 2, 3);
  silu.set_threads(threads);
  softmax.set_threads(threads);
  centred.set_threads(threads);
  const std::string on = ", " + std::to_string(threads) + " threads";

  mat x = random_square(1);
  const mat before = x;
  silu.run(x, x);
  // sigmoid within 1e-6 relative and 2e-7 absolute (ops_unary_test), scaled by x; the multiply
  // and add round twice, or once where the compiler contracts them.
  LOOM_CHECK_REPORT(compare_scaled(
      x,
      [&](std::size_t i) {
        const double v = before.data()[i];
        return v / (1 + std::exp(-v)) + 1;
      },
      [&](std::size_t i) { return std::abs(before.data()[i]) + 1; },
      tolerance{2e-6, 0},
      "x sigmoid(x) + 1 in place" + on));

  x = random_square(2);
  const mat logits = x;
  softmax.run(x, x);
  LOOM_CHECK_REPORT(loom_test::compare(x,
                                       loom_test::softmax_rows_reference(logits.data(), n, n),
                                       tolerance{32 * eps_f, 1e-30},
                                       "softmax in place" + on));

  x = random_square(3);
  const mat raw = x;
  centred.run(x, x);
  std::vector<double> mean(n, 0), magnitude(n, 0);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    mean[i % n] += raw.data()[i] / double(n);
    magnitude[i % n] += std::abs(raw.data()[i]) / double(n);
  }
  // The float column mean of n terms is within n units of roundoff of the mean magnitude;
  // the subtraction rounds once more.
  LOOM_CHECK_REPORT(compare_scaled(
      x,
      [&](std::size_t i) { return raw.data()[i] - mean[i % n]; },
      [&](std::size_t i) { return std::abs(raw.data()[i]) + magnitude[i % n]; },
      tolerance{double(n + 1) * loom_test::u_f, 0},
      "x - column mean in place" + on));
}

TEST_CASE("one result in place over the input, another beside it", "[aliasing]") {
  auto m = loom::compile([](auto x) { return std::make_tuple(x * 2.f, x + 1.f); }, mat_in{});
  m.set_threads(GENERATE(1, 2));
  mat x = random_square(4), plus_one(n, n);
  const mat before = x;
  m.run(std::tie(x, plus_one), x);
  // Both exact but for the add's one rounding.
  LOOM_CHECK_REPORT(loom_test::compare_with(
      x, [&](std::size_t i) { return 2.0 * before.data()[i]; }, tolerance{}, "x * 2 over x"));
  LOOM_CHECK_REPORT(loom_test::compare_with(
      plus_one,
      [&](std::size_t i) { return before.data()[i] + 1.0; },
      tolerance{loom_test::u_f, 0},
      "x + 1 beside it"));
}

TEST_CASE("an input read through a view or across rows after it is overwritten is refused",
          "[aliasing][errors]") {
  // Element (i, j) of the result reads x(j, i), or row 0 of x, which another row's (or another
  // thread's) write may already have replaced.
  auto transposed = loom::compile([](auto x) { return x + loom::transpose(x); }, mat_in{});
  auto first_row = loom::compile([](auto x) { return x - loom::slice<0, 0, 1>(x); }, mat_in{});
  const std::string want = input_message(0, "[200, 200]", 0, "[200, 200]");
  mat x = random_square(5);
  const mat before = x;
  for (int threads : {1, 2}) {
    INFO(threads << " threads");
    transposed.set_threads(threads);
    first_row.set_threads(threads);
    CHECK(alias_message([&] { transposed.run(x, x); }) == want);
    CHECK(alias_message([&] { first_row.run(x, x); }) == want);
    LOOM_CHECK_REPORT(compare_same(x, before, "x, after the refusals"));
  }
}

TEST_CASE("an output shifted against its input, over a smaller one or of another dtype",
          "[aliasing][errors]") {
  auto relu = loom::compile([](auto x) { return loom::relu(x); }, vec_in{});
  std::vector<float> storage(1001);
  vec_view in(storage.data(), 1000), shifted(storage.data() + 1, 1000);
  loom_test::poison(vec_view(storage.data(), 1001));
  in(0) = 1.f;  // one value that is not the poison, so that the input is read somewhere
  CHECK(alias_message([&] { relu.run(shifted, in); }) == input_message(0, "[1000]", 0, "[1000]"));
  CHECK(storage[0] == 1.f);
  LOOM_CHECK_REPORT(untouched(vec_view(storage.data() + 1, 1000), "the shifted output"));

  // The bias is the first row of the output's buffer: the second row would overwrite nothing
  // of it, the first would, while later rows still read it.
  auto biased = loom::compile([](auto x, auto b) { return x + b; }, mat_in{}, vec_in{});
  mat x = random_square(6), out(n, n);
  loom_test::poison(out);
  const vec_view bias(out.data(), n);
  CHECK(alias_message([&] { biased.run(out, x, bias); }) ==
        input_message(0, "[200, 200]", 1, "[200]"));
  LOOM_CHECK_REPORT(untouched(out, "the output over the bias"));

  // The same bytes as f64 input and f32 output: same start, other elements.
  auto narrow = loom::compile([](auto v) { return loom::cast<float>(v); },
                              loom::input<double, extents<dyn>>{});
  std::vector<double> wide(100, 0.5);
  const loom::tensor_view<const double, extents<dyn>> as_double(wide.data(), 100);
  const vec_view as_float(reinterpret_cast<float*>(wide.data()), 100);
  CHECK(alias_message([&] { narrow.run(as_float, as_double); }) ==
        input_message(0, "[100]", 0, "[100]"));
  for (double v : wide) REQUIRE(v == 0.5);
}

TEST_CASE("outputs that overlap are refused, outputs side by side are not", "[aliasing][errors]") {
  auto split = loom::compile([](auto x) { return std::make_tuple(loom::relu(x), loom::relu(-x)); },
                             vec_in{});
  loom_test::vec<float> x(500);
  loom_test::fill_normal(x, 7, 0, 1);
  std::vector<float> storage(1000);
  vec_view whole(storage.data(), 1000);
  vec_view first(storage.data(), 500), second(storage.data() + 500, 500),
      straddling(storage.data() + 499, 500);

  loom_test::poison(whole);
  CHECK(alias_message([&] { split.run(std::tie(first, first), x); }) ==
        "loom: outputs 0 and 1 overlap (shapes [500] and [500]); give each result its own buffer");
  CHECK(alias_message([&] { split.run(std::tie(first, straddling), x); }) ==
        "loom: outputs 0 and 1 overlap (shapes [500] and [500]); give each result its own buffer");
  LOOM_CHECK_REPORT(untouched(whole, "both outputs"));

  split.run(std::tie(first, second), x);
  LOOM_CHECK_REPORT(loom_test::compare_with(
      first, [&](std::size_t i) { return std::max(0.f, x(i)); }, tolerance{}, "relu(x)"));
  LOOM_CHECK_REPORT(loom_test::compare_with(
      second, [&](std::size_t i) { return std::max(0.f, -x(i)); }, tolerance{}, "relu(-x)"));
}
