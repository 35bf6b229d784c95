// Shapes a caller gets wrong at run time: dynamic extents that contradict the declared ones or
// do not broadcast or multiply, reshapes that do not fit, a max over an empty axis, and output
// buffers of the wrong shape. Each must throw a loom::shape_error whose message names the input
// or output (or the op) and both shapes, before any output element is written: every output
// starts poisoned (test_support.hpp) and must still be afterwards. Outputs of the wrong count
// or dtype do not compile (tests/compile_fail/run_output_count.cpp, run_output_dtype.cpp), nor
// do static extents that contradict the declared ones (input_static_extents_mismatch.cpp).
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <cstddef>
#include <string>
#include <tuple>

#include "test_support.hpp"

using loom::dyn;
using loom::extents;
using loom_test::poison;
using loom_test::shape_error_message;
using loom_test::untouched;

namespace {

using loom_test::mat;
using vec = loom_test::vec<float>;
using rows4 = loom::tensor<float, extents<dyn, 4>>;

template <class Tensor>
Tensor poisoned(Tensor t) {
  poison(t);
  return t;
}

// relu(x + bias) over rows of 4 and a bias of any length, which must broadcast at run time.
auto dense() {
  return loom::compile([](auto x, auto bias) { return loom::relu(x + bias); },
                       loom::input<float, extents<dyn, 4>>{},
                       loom::input<float, extents<dyn>>{});
}

}  // namespace

TEST_CASE("an input that contradicts its declared extents throws before writing", "[errors]") {
  const auto m = dense();
  mat wide(2, 5);
  wide.fill(1.f);
  vec bias(4);
  bias.fill(1.f);
  rows4 out = poisoned(rows4(2));
  CHECK(shape_error_message([&] { m.run(out, wide, bias); }) ==
        "loom: input 0 has shape [2, 5] but the model was compiled for [?, 4]");
  LOOM_CHECK_REPORT(untouched(out, "out"));
  CHECK(shape_error_message([&] { (void)m(wide, bias); }) ==
        "loom: input 0 has shape [2, 5] but the model was compiled for [?, 4]");

  // The second input, declared [?, 3] and given [2, 4]: the message gives its position.
  const auto two = loom::compile([](auto a, auto b) { return a * b; },
                                 loom::input<float, extents<dyn>>{},
                                 loom::input<float, extents<dyn, 3>>{});
  loom::tensor<float, extents<dyn, 3>> out3 = poisoned(loom::tensor<float, extents<dyn, 3>>(2));
  CHECK(shape_error_message([&] { two.run(out3, vec(3), mat(2, 4)); }) ==
        "loom: input 1 has shape [2, 4] but the model was compiled for [?, 3]");
  LOOM_CHECK_REPORT(untouched(out3, "out3"));
}

TEST_CASE("dynamic extents that do not broadcast throw before writing", "[errors]") {
  const auto m = dense();
  rows4 x(2);
  x.fill(1.f);
  rows4 out = poisoned(rows4(2));
  // A bias of 5, and an empty one: neither is 4 or 1.
  for (std::size_t n : {5, 0}) {
    vec bias(n);
    bias.fill(1.f);
    const std::string want =
        "loom: add: shapes [2, 4] and [" + std::to_string(n) + "] do not broadcast";
    CHECK(shape_error_message([&] { m.run(out, x, bias); }) == want);
    LOOM_CHECK_REPORT(untouched(out, "out, bias of " + std::to_string(n)));
  }
}

TEST_CASE("a matmul, reshape or max that does not fit throws before writing", "[errors]") {
  const auto product = loom::compile([](auto a, auto b) { return loom::matmul(a, b) + 1.f; },
                                     loom::input<float, extents<dyn, dyn>>{},
                                     loom::input<float, extents<dyn, dyn>>{});
  mat p = poisoned(mat(2, 5));
  CHECK(shape_error_message([&] { product.run(p, mat(2, 3), mat(4, 5)); }) ==
        "loom: matmul: shapes [2, 3] and [4, 5] do not multiply");
  LOOM_CHECK_REPORT(untouched(p, "product"));

  const auto rows = loom::compile([](auto v) { return loom::reshape<extents<dyn, 4>>(v) * 2.f; },
                                  loom::input<float, extents<dyn>>{});
  rows4 r = poisoned(rows4(1));
  CHECK(shape_error_message([&] { rows.run(r, vec(6)); }) ==
        "loom: reshape: [6] has 6 elements, which do not fit extents [?, 4]");
  LOOM_CHECK_REPORT(untouched(r, "reshape"));

  // The sum has a value over the empty rows and comes first; it must not be written either.
  const auto folds = loom::compile(
      [](auto x) {
        return std::make_tuple(loom::sum(x, loom::axes<-1>), loom::max(x, loom::axes<-1>));
      },
      loom::input<float, extents<dyn, dyn>>{});
  vec sums = poisoned(vec(3)), tops = poisoned(vec(3));
  CHECK(shape_error_message([&] { folds.run(std::tie(sums, tops), mat(3, 0)); }) ==
        "loom: max over an empty axis of [3, 0] has no value");
  LOOM_CHECK_REPORT(untouched(sums, "sums"));
  LOOM_CHECK_REPORT(untouched(tops, "tops"));
}

TEST_CASE("an output buffer of the wrong shape throws before writing", "[errors]") {
  const auto m = dense();
  rows4 x(2);
  vec bias(4);
  x.fill(-1.f);
  bias.fill(2.f);

  rows4 short_out = poisoned(rows4(3));
  CHECK(shape_error_message([&] { m.run(short_out, x, bias); }) ==
        "loom: output 0 has shape [3, 4] but the model produces [2, 4]");
  LOOM_CHECK_REPORT(untouched(short_out, "a buffer of 3 rows"));

  // As many elements, another rank: a flat buffer of 8 for a [2, 4] result.
  vec flat = poisoned(vec(8));
  CHECK(shape_error_message([&] { m.run(flat, x, bias); }) ==
        "loom: output 0 has shape [8] but the model produces [2, 4]");
  LOOM_CHECK_REPORT(untouched(flat, "a flat buffer"));

  // Of two results, the second buffer is wrong: the first, which is right, stays unwritten.
  const auto split = loom::compile(
      [](auto v) {
        auto positive = loom::relu(v);
        return std::make_tuple(positive, positive - v);
      },
      loom::input<float, extents<dyn, dyn>>{});
  mat pos = poisoned(mat(2, 4)), neg = poisoned(mat(4, 2));
  CHECK(shape_error_message([&] { split.run(std::tie(pos, neg), mat(2, 4)); }) ==
        "loom: output 1 has shape [4, 2] but the model produces [2, 4]");
  LOOM_CHECK_REPORT(untouched(pos, "output 0"));
  LOOM_CHECK_REPORT(untouched(neg, "output 1"));
}

TEST_CASE("eager ops name the op and both shapes", "[errors][eager]") {
  vec a(3), b(4);
  a.fill(1.f);
  b.fill(1.f);
  CHECK(shape_error_message([&] { (void)(a + b); }) ==
        "loom: add: shapes [3] and [4] do not broadcast");
  CHECK(shape_error_message([&] { (void)loom::matmul(mat(2, 3), mat(4, 5)); }) ==
        "loom: matmul: shapes [2, 3] and [4, 5] do not multiply");
}
