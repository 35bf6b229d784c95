// Composite ops written in the DSL (softmax, log_softmax, logsumexp, layer_norm, gelu_tanh,
// mse_loss, cross_entropy): fused and eager results against double-precision reference loops,
// the edges of their numerics (exp overflow, infinities, constant rows), and their fusion
// into one pass over the rows.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "test_support.hpp"

using Catch::Matchers::Contains;
using loom::dyn;
using loom::extents;
using loom_test::compare_scaled;
using loom_test::compare_with;
using loom_test::dinf;
using loom_test::dnan;
using loom_test::finf;
using loom_test::fnan;
using loom_test::make_shape;
using loom_test::tolerance;
using loom_test::vec;

namespace {

using mat = loom::tensor<float, extents<dyn, dyn>>;
using dmat = loom::tensor<double, extents<dyn, dyn>>;
using mat_in = loom::input<float, extents<dyn, dyn>>;
using vec_in = loom::input<float, extents<dyn>>;

constexpr double eps_f = std::numeric_limits<float>::epsilon();
constexpr double eps_d = std::numeric_limits<double>::epsilon();

// Tolerances, each against the scale the reference reports for the element. The worst cases
// measured over these tests (and rows of 5000) are a quarter to a third of each bound.
// softmax, relative: exp's argument x - max rounds by up to |x - max| / 2 ulps (up to ~20
// ulps for the spreads used here) and the row sum folds up to 1000 terms; the absolute part
// admits float's denormal (or flushed) exp of arguments below -87.
constexpr tolerance softmax_tol{32 * eps_f, 1e-30};
// log_softmax and logsumexp, relative to |x - max| + |log sum| + 1 (|max| for logsumexp):
// the subtraction rounds, and log turns the sum's relative error into an absolute one.
constexpr tolerance log_tol{8 * eps_f, 0};
// layer_norm, relative to |gamma| (|z| + |mean| / sigma + 1) + |beta|: the float mean is off
// by a few ulps of |mean|, which the normalisation magnifies by 1 / sigma.
constexpr tolerance norm_tol{8 * eps_f, 0};

// Each model is compiled once over dyn extents and serves every shape; the same lambdas
// called on tensors are the eager runs.
const auto softmax_fn = [](const auto& x) {
  return loom::softmax(x);
};
const auto log_softmax_fn = [](const auto& x) {
  return loom::log_softmax(x);
};
const auto logsumexp_fn = [](const auto& x) {
  return loom::logsumexp(x);
};
const auto layer_norm_fn = [](const auto& x, const auto& gamma, const auto& beta) {
  return loom::layer_norm(x, gamma, beta, 1e-5);
};

// A reference result: the wanted values, and the magnitude each one's rounding error scales
// with (see the tolerances above).
struct reference {
  std::vector<double> want, scale;
};

template <class Got>
loom_test::report against(const Got& got, const reference& r, tolerance tol, std::string what) {
  if (got.size() != r.want.size()) {
    loom_test::report bad(std::move(what));
    bad.shape_ok = false;
    bad.shapes = got.shape().to_string() + " vs " + std::to_string(r.want.size()) + " elements";
    return bad;
  }
  return compare_scaled(
      got,
      [&](std::size_t i) { return r.want[i]; },
      [&](std::size_t i) { return r.scale[i]; },
      tol,
      std::move(what));
}

// The lines a row-wise op works along in a row-major [rows, cols] matrix: element k of line
// i is at flat index i * stride + k * step.
struct lines {
  std::size_t count, length, stride, step;
};
lines along_rows(std::size_t rows, std::size_t cols) {
  return {rows, cols, cols, 1};
}
lines along_columns(std::size_t rows, std::size_t cols) {
  return {cols, rows, 1, cols};
}

enum class softmax_kind { softmax, log_softmax, logsumexp };

// softmax, log_softmax and logsumexp along each line, in double, the textbook way: shift by
// the max, sum the exps. A line of -inf has no finite max; torch gives NaN for its softmax
// and log_softmax, and -inf for its logsumexp. Lines with +inf or NaN are checked by hand.
template <class M>
reference softmax_reference(const M& x, lines l, softmax_kind kind) {
  // A result beyond the dtype's range is ±inf there (log_softmax of -FLT_MAX beside FLT_MAX).
  const auto rounded = [](double v) {
    return static_cast<double>(static_cast<typename M::value_type>(v));
  };
  reference r;
  const std::size_t n = kind == softmax_kind::logsumexp ? l.count : l.count * l.length;
  r.want.resize(n);
  r.scale.resize(n);
  for (std::size_t i = 0; i < l.count; ++i) {
    auto at = [&](std::size_t k) {
      return static_cast<double>(x.data()[i * l.stride + k * l.step]);
    };
    double m = -dinf;
    for (std::size_t k = 0; k < l.length; ++k) m = std::max(m, at(k));
    double sum = 0;
    for (std::size_t k = 0; k < l.length; ++k) sum += std::exp(at(k) - m);
    const double log_sum = std::log(sum);
    if (kind == softmax_kind::logsumexp) {
      r.want[i] = rounded(m == -dinf ? -dinf : m + log_sum);
      r.scale[i] = std::abs(m) + std::abs(log_sum) + 1;
      continue;
    }
    for (std::size_t k = 0; k < l.length; ++k) {
      const std::size_t out = i * l.stride + k * l.step;
      const double shifted = at(k) - m;
      if (m == -dinf) {
        r.want[out] = dnan;
      } else if (kind == softmax_kind::softmax) {
        r.want[out] = std::exp(shifted) / sum;
        r.scale[out] = r.want[out];
      } else {
        r.want[out] = rounded(shifted - log_sum);
        r.scale[out] = std::abs(shifted) + std::abs(log_sum) + 1;
      }
    }
  }
  return r;
}

// Layer norm of each row in double (two-pass mean and biased variance); gamma and beta are
// null for the plain form.
template <class M, class V>
reference layer_norm_reference(const M& x, const V* gamma, const V* beta, double eps) {
  const std::size_t rows = x.shape().dims[0], cols = x.shape().dims[1];
  reference r;
  r.want.resize(x.size());
  r.scale.resize(x.size());
  for (std::size_t i = 0; i < rows; ++i) {
    double mean = 0, var = 0;
    for (std::size_t k = 0; k < cols; ++k) mean += x(i, k);
    mean /= static_cast<double>(cols);
    for (std::size_t k = 0; k < cols; ++k) var += (x(i, k) - mean) * (x(i, k) - mean);
    var /= static_cast<double>(cols);
    const double sigma = std::sqrt(var + eps);
    for (std::size_t k = 0; k < cols; ++k) {
      const double z = (x(i, k) - mean) / sigma;
      const double g = gamma ? (*gamma)(k) : 1.0, b = beta ? (*beta)(k) : 0.0;
      r.want[i * cols + k] = z * g + b;
      r.scale[i * cols + k] =
          std::abs(g) * (std::abs(z) + std::abs(mean) / sigma + 1) + std::abs(b);
    }
  }
  return r;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string dims_text(std::size_t rows, std::size_t cols) {
  return "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]";
}

struct dims {
  std::size_t rows, cols;
};
// One element; a row narrower than a block; one block; rows of a thousand; many rows of a
// block and a tail (33410 elements); rows of one element.
const std::vector<dims> shapes{{1, 1}, {3, 7}, {5, 64}, {4, 1000}, {257, 130}, {9, 1}};

}  // namespace

TEST_CASE("softmax, log_softmax and logsumexp match a double reference, fused and eager",
          "[composites][softmax]") {
  auto softmax = loom::compile(softmax_fn, mat_in{});
  auto log_softmax = loom::compile(log_softmax_fn, mat_in{});
  auto logsumexp = loom::compile(logsumexp_fn, mat_in{});
  std::uint32_t seed = 100;
  for (const dims& d : shapes) {
    const std::string what = dims_text(d.rows, d.cols);
    mat x(d.rows, d.cols);
    loom_test::fill_normal(x, seed++, 1, 3);
    const lines l = along_rows(d.rows, d.cols);

    const reference p = softmax_reference(x, l, softmax_kind::softmax);
    LOOM_CHECK_REPORT(against(softmax(x), p, softmax_tol, what + " softmax fused"));
    LOOM_CHECK_REPORT(against(softmax_fn(x), p, softmax_tol, what + " softmax eager"));

    const reference lp = softmax_reference(x, l, softmax_kind::log_softmax);
    LOOM_CHECK_REPORT(against(log_softmax(x), lp, log_tol, what + " log_softmax fused"));
    LOOM_CHECK_REPORT(against(log_softmax_fn(x), lp, log_tol, what + " log_softmax eager"));

    const reference lse = softmax_reference(x, l, softmax_kind::logsumexp);
    const auto fused = logsumexp(x);
    CHECK(fused.shape() == make_shape({d.rows}));
    LOOM_CHECK_REPORT(against(fused, lse, log_tol, what + " logsumexp fused"));
    LOOM_CHECK_REPORT(against(logsumexp_fn(x), lse, log_tol, what + " logsumexp eager"));
  }
}

TEST_CASE("softmax and friends survive values whose exp overflows or vanishes",
          "[composites][softmax][edge]") {
  constexpr float big = std::numeric_limits<float>::max();
  // Each row is a case: naive exp overflows (1e4, 1e30, FLT_MAX; exp(88) fits in float but
  // the sum of the first row's terms does not), -inf entries (probability 0), equal values
  // (uniform), all -inf (no finite max), and equal values far below any exp's range.
  const std::vector<std::vector<float>> rows{
      {1e4f, -1e4f, 0, 9999, -9999},
      {88, 88, 87, -88, 0},
      {1e30f, -1e30f, 1e30f, 0, 1},
      {big, -big, 0, 1, -1},
      {1, -finf, 2, -finf, 0},
      {3.5f, 3.5f, 3.5f, 3.5f, 3.5f},
      {-finf, -finf, -finf, -finf, -finf},
      {-1e30f, -1e30f, -1e30f, -1e30f, -1e30f},
  };
  mat x(rows.size(), 5);
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t k = 0; k < 5; ++k) x(i, k) = rows[i][k];
  // Rows of one element: softmax 1 and log_softmax 0 wherever the element is finite.
  mat single(4, 1);
  single(0, 0) = 2;
  single(1, 0) = -finf;
  single(2, 0) = 1e30f;
  single(3, 0) = -1e4f;

  auto softmax = loom::compile(softmax_fn, mat_in{});
  auto log_softmax = loom::compile(log_softmax_fn, mat_in{});
  auto logsumexp = loom::compile(logsumexp_fn, mat_in{});
  for (const mat* in : {&x, &single}) {
    const std::string what = in == &x ? "edge rows" : "one-element rows";
    const lines l = along_rows(in->shape().dims[0], in->shape().dims[1]);
    const reference p = softmax_reference(*in, l, softmax_kind::softmax);
    const reference lp = softmax_reference(*in, l, softmax_kind::log_softmax);
    const reference lse = softmax_reference(*in, l, softmax_kind::logsumexp);
    LOOM_CHECK_REPORT(against(softmax(*in), p, softmax_tol, what + ": softmax fused"));
    LOOM_CHECK_REPORT(against(softmax_fn(*in), p, softmax_tol, what + ": softmax eager"));
    LOOM_CHECK_REPORT(against(log_softmax(*in), lp, log_tol, what + ": log_softmax fused"));
    LOOM_CHECK_REPORT(against(log_softmax_fn(*in), lp, log_tol, what + ": log_softmax eager"));
    LOOM_CHECK_REPORT(against(logsumexp(*in), lse, log_tol, what + ": logsumexp fused"));
    LOOM_CHECK_REPORT(against(logsumexp_fn(*in), lse, log_tol, what + ": logsumexp eager"));
  }

  // A few of the values the reference stands for, spelled out.
  const auto p = softmax(x);
  CHECK(p(0, 1) == 0);
  CHECK(p(2, 0) == Approx(0.5));
  CHECK(p(4, 1) == 0);
  CHECK(p(5, 2) == Approx(0.2));
  CHECK(std::isnan(p(6, 0)));
  const auto lse = logsumexp(x);
  CHECK(lse(2) == 1e30f);
  CHECK(lse(3) == big);
  CHECK(lse(6) == -finf);
  CHECK(std::isfinite(lse(1)));
}

TEST_CASE("rows holding +inf or NaN follow the documented rules", "[composites][softmax][edge]") {
  // torch.logsumexp replaces an infinite max by 0, and so does loom for all three ops: a row
  // holding +inf has logsumexp +inf; its softmax is NaN at the +inf entries and 0 elsewhere
  // (torch: NaN throughout); NaN anywhere makes the whole row NaN.
  mat x(3, 3);
  const float in[3][3] = {{finf, 1, 2}, {finf, finf, -finf}, {fnan, 1, 2}};
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t k = 0; k < 3; ++k) x(i, k) = in[i][k];
  const reference p{{dnan, 0, 0, dnan, dnan, 0, dnan, dnan, dnan}, std::vector<double>(9, 0)};
  const reference lp{{dnan, -dinf, -dinf, dnan, dnan, -dinf, dnan, dnan, dnan},
                     std::vector<double>(9, 0)};
  const reference lse{{dinf, dinf, dnan}, std::vector<double>(3, 0)};
  auto softmax = loom::compile(softmax_fn, mat_in{});
  auto log_softmax = loom::compile(log_softmax_fn, mat_in{});
  auto logsumexp = loom::compile(logsumexp_fn, mat_in{});
  LOOM_CHECK_REPORT(against(softmax(x), p, {}, "softmax fused"));
  LOOM_CHECK_REPORT(against(softmax_fn(x), p, {}, "softmax eager"));
  LOOM_CHECK_REPORT(against(log_softmax(x), lp, {}, "log_softmax fused"));
  LOOM_CHECK_REPORT(against(log_softmax_fn(x), lp, {}, "log_softmax eager"));
  LOOM_CHECK_REPORT(against(logsumexp(x), lse, {}, "logsumexp fused"));
  LOOM_CHECK_REPORT(against(logsumexp_fn(x), lse, {}, "logsumexp eager"));
}

TEST_CASE("softmax and logsumexp over an empty axis are empty and -inf, as in PyTorch",
          "[composites][softmax][edge]") {
  // max over an empty axis throws; the max these composites subtract is -inf there instead.
  mat x(3, 0);
  auto softmax = loom::compile(softmax_fn, mat_in{});
  auto logsumexp = loom::compile(logsumexp_fn, mat_in{});
  auto log_softmax = loom::compile(log_softmax_fn, mat_in{});
  CHECK(softmax(x).shape() == make_shape({3, 0}));
  CHECK(softmax_fn(x).shape() == make_shape({3, 0}));
  CHECK(log_softmax(x).shape() == make_shape({3, 0}));
  for (const auto& lse : {logsumexp(x), logsumexp_fn(x)}) {
    REQUIRE(lse.shape() == make_shape({3}));
    for (std::size_t i = 0; i < 3; ++i) CHECK(lse(i) == -finf);
  }
  CHECK_THROWS_AS(loom::max(x, loom::axes<-1>), loom::shape_error);
}

TEST_CASE("softmax over axis 0, logsumexp with keepdims, and f64", "[composites][softmax]") {
  SECTION("axis 0 of a [6, 5] input, fused and eager") {
    mat x(6, 5);
    loom_test::fill_normal(x, 300, 0, 4);
    x(2, 3) = -finf;
    const auto by_column = [](const auto& v) {
      return loom::softmax(v, loom::axes<0>);
    };
    auto model = loom::compile(by_column, mat_in{});
    const lines l = along_columns(6, 5);
    const reference p = softmax_reference(x, l, softmax_kind::softmax);
    LOOM_CHECK_REPORT(against(model(x), p, softmax_tol, "axis 0 softmax fused"));
    LOOM_CHECK_REPORT(against(by_column(x), p, softmax_tol, "axis 0 softmax eager"));

    const auto lse = loom::logsumexp(x, loom::axes<0>);
    CHECK(lse.shape() == make_shape({5}));
    LOOM_CHECK_REPORT(against(
        lse, softmax_reference(x, l, softmax_kind::logsumexp), log_tol, "axis 0 logsumexp"));
  }
  SECTION("keepdims keeps the reduced axis as an extent of 1") {
    // The fused keepdims model's plan is checked with the fusion tests; its values are the
    // default logsumexp's before the reduction that drops the axis, so eager mode suffices.
    mat x(7, 33);
    loom_test::fill_normal(x, 301, 0, 4);
    const auto kept = loom::logsumexp(x, loom::keepdims);
    CHECK(kept.shape() == make_shape({7, 1}));
    LOOM_CHECK_REPORT(against(kept,
                              softmax_reference(x, along_rows(7, 33), softmax_kind::logsumexp),
                              log_tol,
                              "logsumexp keepdims eager"));
  }
  SECTION("f64") {
    dmat x(37, 300);
    loom_test::fill_normal(x, 302, 1, 3);
    auto model = loom::compile(softmax_fn, loom::input<double, extents<dyn, dyn>>{});
    const reference p = softmax_reference(x, along_rows(37, 300), softmax_kind::softmax);
    // As for f32, in units of double's epsilon.
    const tolerance tol{32 * eps_d, 0};
    const auto fused = model(x);
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(fused)>::value_type, double>);
    LOOM_CHECK_REPORT(against(fused, p, tol, "f64 softmax fused"));
    LOOM_CHECK_REPORT(against(softmax_fn(x), p, tol, "f64 softmax eager"));
  }
}

TEST_CASE("softmax, log_softmax, logsumexp and layer_norm fuse into one pass over the rows",
          "[composites][fusion]") {
  using rows_in = loom::input<float, extents<dyn, 1024>>;
  using row_in = loom::input<float, extents<1024>>;
  auto softmax = loom::compile(softmax_fn, rows_in{});
  auto layer_norm = loom::compile(layer_norm_fn, rows_in{}, row_in{}, row_in{});
  static_assert(decltype(softmax)::kernel_count == 1, "max, sum and scaling in one pass");
  static_assert(decltype(layer_norm)::kernel_count == 1, "mean, variance and scaling");
  // The rest over the dyn extents the other tests run them with, so no model type is added
  // only for these checks.
  auto log_softmax = loom::compile(log_softmax_fn, mat_in{});
  static_assert(decltype(log_softmax)::kernel_count == 1);
  const auto keep = [](const auto& v) {
    return loom::logsumexp(v, loom::keepdims);
  };
  using kept_model = decltype(loom::compile(keep, mat_in{}));
  static_assert(kept_model::kernel_count == 1);
  static_assert(std::is_same_v<kept_model::output_tensor<0>::extents_type, extents<dyn, 1>>);
  // Dropping the reduced axis is a reduction over extents of 1, which the plan does not yet
  // run in the rows' pass.
  static_assert(decltype(loom::compile(logsumexp_fn, mat_in{}))::kernel_count <= 2);

  const std::string text = loom::explain(softmax);
  INFO(text);
  CHECK_THAT(text, Contains("1 kernels, 1 groups"));
  CHECK_THAT(text, Contains("row by row"));
  CHECK_THAT(text, Contains("= max"));
  CHECK_THAT(text, Contains(": map"));
  // Two folds over each row (max, then the sum of exps), then the scaling pass.
  CHECK(count_of(text, ": reduce") == 2);
  CHECK_THAT(loom::explain(layer_norm), Contains("1 kernels, 1 groups"));

  // Common subexpressions are one node: a single max and a single x - max in log_softmax.
  const std::string lt = loom::explain(log_softmax);
  CHECK(count_of(lt, "= max") == 1);
  CHECK(count_of(lt, "= sub %0") == 1);
}

TEST_CASE("layer_norm matches a double reference, fused and eager", "[composites][layer_norm]") {
  auto affine = loom::compile(layer_norm_fn, mat_in{}, vec_in{}, vec_in{});
  // gamma and beta of [?] broadcast against rows of [?, ?]: equal unless one is 1, so the
  // scaling joins the rows' pass, which checks the shapes on each call.
  static_assert(decltype(affine)::kernel_count == 1);
  const auto plain_fn = [](const auto& x) {
    return loom::layer_norm(x, 1e-5);
  };
  auto plain = loom::compile(plain_fn, mat_in{});

  SECTION("random rows, with and without gamma and beta") {
    std::uint32_t seed = 500;
    for (const dims& d : shapes) {
      const std::string what = dims_text(d.rows, d.cols);
      mat x(d.rows, d.cols);
      vec<float> gamma(d.cols), beta(d.cols);
      loom_test::fill_normal(x, seed++, 1, 3);
      loom_test::fill_normal(gamma, seed++, 1, 0.5);
      loom_test::fill_normal(beta, seed++, 0, 1);
      const reference want = layer_norm_reference(x, &gamma, &beta, 1e-5);
      LOOM_CHECK_REPORT(against(affine(x, gamma, beta), want, norm_tol, what + " fused"));
      LOOM_CHECK_REPORT(against(layer_norm_fn(x, gamma, beta), want, norm_tol, what + " eager"));
      const reference bare = layer_norm_reference<mat, vec<float>>(x, nullptr, nullptr, 1e-5);
      LOOM_CHECK_REPORT(against(plain(x), bare, norm_tol, what + " no affine, fused"));
      LOOM_CHECK_REPORT(against(plain_fn(x), bare, norm_tol, what + " no affine, eager"));
    }
  }
  SECTION("gamma and beta of one element, or rows of one element, broadcast") {
    // The shapes the plan's single pass did not expect: its steps run one after another.
    mat x(5, 37);
    vec<float> gamma1(1), beta1(1), gamma(37), beta(37);
    loom_test::fill_normal(x, 505, 1, 3);
    gamma1(0) = 1.5f, beta1(0) = -0.25f;
    gamma.fill(gamma1(0)), beta.fill(beta1(0));
    const reference want = layer_norm_reference(x, &gamma, &beta, 1e-5);
    LOOM_CHECK_REPORT(against(affine(x, gamma1, beta1), want, norm_tol, "gamma [1]"));
    mat column(5, 1);
    loom_test::fill_normal(column, 506, 1, 3);
    loom_test::fill_normal(beta, 507, 0, 1);
    const auto out = affine(column, gamma, beta);  // each row is constant: x - mean is 0
    REQUIRE(out.shape() == make_shape({5, 37}));
    for (std::size_t i = 0; i < 5; ++i)
      for (std::size_t k = 0; k < 37; ++k) REQUIRE(out(i, k) == beta(k));
  }
  SECTION("constant rows have variance 0 and give beta") {
    mat x(3, 130);
    vec<float> gamma(130), beta(130);
    loom_test::fill_normal(gamma, 510, 1, 0.5);
    loom_test::fill_normal(beta, 511, 0, 1);
    for (std::size_t k = 0; k < 130; ++k) {
      x(0, k) = 3.25f;  // every partial sum is exact, so x - mean is exactly 0
      x(1, k) = 0.1f;
      x(2, k) = 1234.567f;
    }
    // Where the float mean is off by an ulp of the value, x - mean is an ulp, which
    // 1 / sqrt(eps) magnifies: the reference's scale (|mean| / sigma) allows for that.
    const reference want = layer_norm_reference(x, &gamma, &beta, 1e-5);
    const auto fused = affine(x, gamma, beta);
    const auto eager = layer_norm_fn(x, gamma, beta);
    LOOM_CHECK_REPORT(against(fused, want, norm_tol, "constant rows fused"));
    LOOM_CHECK_REPORT(against(eager, want, norm_tol, "constant rows eager"));
    for (std::size_t k = 0; k < 130; ++k) {
      INFO("column " << k);
      CHECK(fused(0, k) == beta(k));
      CHECK(eager(0, k) == beta(k));
    }
  }
  SECTION("a mean far from 0 against the spread: the two-pass variance stays accurate") {
    mat x(4, 1000);
    loom_test::fill_uniform(x, 520, 1e4 - 1, 1e4 + 1);
    const reference bare = layer_norm_reference<mat, vec<float>>(x, nullptr, nullptr, 1e-5);
    LOOM_CHECK_REPORT(against(plain(x), bare, norm_tol, "mean 1e4, spread 1, fused"));
    LOOM_CHECK_REPORT(against(plain_fn(x), bare, norm_tol, "mean 1e4, spread 1, eager"));
  }
  SECTION("eps is a run-time parameter: one compiled model serves every value") {
    const auto with_eps = [](double eps) {
      return loom::compile([eps](const auto& x) { return loom::layer_norm(x, eps); }, mat_in{});
    };
    auto small = with_eps(1e-5);
    auto large = with_eps(1.0);
    static_assert(std::is_same_v<decltype(small), decltype(large)>);
    mat x(6, 40);
    loom_test::fill_normal(x, 530, 0, 0.5);
    const auto bare = [&](double eps) {
      return layer_norm_reference<mat, vec<float>>(x, nullptr, nullptr, eps);
    };
    LOOM_CHECK_REPORT(against(small(x), bare(1e-5), norm_tol, "eps 1e-5"));
    LOOM_CHECK_REPORT(against(large(x), bare(1.0), norm_tol, "eps 1"));
  }
}

TEST_CASE("gelu_tanh matches the tanh formula and stays near the erf gelu", "[composites][gelu]") {
  const auto gelu_tanh_fn = [](const auto& x) {
    return loom::gelu_tanh(x);
  };
  auto model = loom::compile(gelu_tanh_fn, vec_in{});
  static_assert(decltype(model)::kernel_count == 1);
  for (std::size_t n : loom_test::sizes) {
    const std::string what = "n = " + std::to_string(n);
    vec<float> x(n);
    loom_test::fill_uniform(x, 600 + static_cast<std::uint32_t>(n), -8, 8);
    const auto ref = [&](std::size_t i) {
      const double v = x(i);
      const double k = std::sqrt(2 / std::numbers::pi);
      return 0.5 * v * (1 + std::tanh(k * (v + 0.044715 * v * v * v)));
    };
    // For negative x, 1 + tanh cancels: the error scales with |x|, not with the result.
    const auto scale = [&](std::size_t i) {
      return std::abs(x(i)) + 1;
    };
    const tolerance tol{4 * eps_f, 0};
    const auto fused = model(x);
    LOOM_CHECK_REPORT(compare_scaled(fused, ref, scale, tol, what + " fused"));
    LOOM_CHECK_REPORT(compare_scaled(gelu_tanh_fn(x), ref, scale, tol, what + " eager"));
    // The approximation is within 5e-4 of the exact (erf) GELU everywhere.
    LOOM_CHECK_REPORT(compare_with(
        fused,
        [&](std::size_t i) { return 0.5 * x(i) * (1 + std::erf(x(i) / std::numbers::sqrt2)); },
        {0, 5e-4},
        what + " vs gelu"));
  }
}

TEST_CASE("mse_loss and cross_entropy match double references", "[composites][loss]") {
  const auto mse_fn = [](const auto& p, const auto& t) {
    return loom::mse_loss(p, t);
  };
  const auto ce_fn = [](const auto& l, const auto& t) {
    return loom::cross_entropy(l, t);
  };
  auto mse = loom::compile(mse_fn, mat_in{}, mat_in{});
  auto ce = loom::compile(ce_fn, mat_in{}, mat_in{});
  // Both sum non-negative terms: no cancellation, only the float sums' rounding.
  const tolerance tol{32 * eps_f, 0};
  std::uint32_t seed = 700;
  for (const dims& d : shapes) {
    const std::string what = dims_text(d.rows, d.cols);
    mat pred(d.rows, d.cols), target(d.rows, d.cols), probs(d.rows, d.cols);
    loom_test::fill_normal(pred, seed++, 0, 3);
    loom_test::fill_normal(target, seed++, 1, 2);
    loom_test::fill_uniform(probs, seed++, 0, 1);
    for (std::size_t i = 0; i < d.rows; ++i) {
      double total = 0;
      for (std::size_t k = 0; k < d.cols; ++k) total += probs(i, k);
      for (std::size_t k = 0; k < d.cols; ++k)
        probs(i, k) = static_cast<float>(probs(i, k) / total);
    }

    double want_mse = 0;
    for (std::size_t i = 0; i < pred.size(); ++i) {
      const double diff = double(pred.data()[i]) - target.data()[i];
      want_mse += diff * diff;
    }
    want_mse /= static_cast<double>(pred.size());
    const auto fused_mse = mse(pred, target);
    CHECK(fused_mse.shape().rank == 0);
    LOOM_CHECK_REPORT(compare_with(
        fused_mse, [&](std::size_t) { return want_mse; }, tol, what + " mse fused"));
    LOOM_CHECK_REPORT(compare_with(
        mse_fn(pred, target), [&](std::size_t) { return want_mse; }, tol, what + " mse eager"));
    CHECK(mse(pred, pred)() == 0);

    // pred as logits against soft targets and against one-hot ones (class k = i % cols).
    mat one_hot(d.rows, d.cols);
    for (std::size_t i = 0; i < d.rows; ++i)
      for (std::size_t k = 0; k < d.cols; ++k) one_hot(i, k) = k == i % d.cols ? 1.f : 0.f;
    const reference ls =
        softmax_reference(pred, along_rows(d.rows, d.cols), softmax_kind::log_softmax);
    for (const mat* t : {&probs, &one_hot}) {
      const std::string which = what + (t == &probs ? " soft" : " one-hot");
      double want = 0;
      for (std::size_t i = 0; i < pred.size(); ++i) want -= t->data()[i] * ls.want[i];
      want /= static_cast<double>(d.rows);
      const auto fused = ce(pred, *t);
      CHECK(fused.shape().rank == 0);
      LOOM_CHECK_REPORT(compare_with(
          fused, [&](std::size_t) { return want; }, tol, which + " cross_entropy fused"));
      LOOM_CHECK_REPORT(compare_with(
          ce_fn(pred, *t), [&](std::size_t) { return want; }, tol, which + " cross_entropy eager"));
    }
  }
}
