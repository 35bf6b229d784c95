// The code of docs/guide.md's sections on reductions, views, matrix products, composite ops,
// whole-tensor allow_in_graph, hooks and barriers, run-time scalars and reuse, the fusion plan
// and export. As in docs_snippets_test.cpp, each region between `// [snippet:NAME]` and
// `// [/snippet:NAME]` appears verbatim in a code block of the guide that starts with
// `// snippet: NAME`, and each raw string between `// [output:NAME]` and `// [/output:NAME]` is a
// printed output the guide shows; docs_snippets_in_sync keeps them identical. The CHECKs
// outside the regions hold the values the guide promises, against double-precision references.
#include <Eigen/Core>
#include <cassert>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <loom/loom.hpp>
#include <numeric>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

// [snippet:whole_tensor_solve]
#include <Eigen/LU>  // partialPivLu: loom includes only <Eigen/Core>

// Solves A X = B with Eigen's LU decomposition: whole matrices in, a whole matrix out.
struct lu_solve {
  using granularity = loom::whole_tensor;  // called once per run, on whole tensors

  // X has B's static extents, and at run time B's shape.
  template <class A, class B>
  using output_extents = B;
  static loom::shape output_shape(const loom::shape&, const loom::shape& b) { return b; }

  void operator()(loom::tensor_view<const double, loom::extents<loom::dyn, loom::dyn>> a,
                  loom::tensor_view<const double, loom::extents<loom::dyn, loom::dyn>> b,
                  loom::tensor_view<double, loom::extents<loom::dyn, loom::dyn>> x) const {
    using matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const auto n = Eigen::Index(a.extent(0)), m = Eigen::Index(b.extent(1));
    Eigen::Map<const matrix> lhs(a.data(), n, n), rhs(b.data(), n, m);
    Eigen::Map<matrix>(x.data(), n, m) = lhs.partialPivLu().solve(rhs);
  }
};
// [/snippet:whole_tensor_solve]

namespace {

double sigmoid(double v) {
  return 1 / (1 + std::exp(-v));
}

}  // namespace

TEST_CASE("guide: reductions", "[docs][reduce]") {
  // [snippet:reductions]
  loom::tensor<float, loom::extents<2, 3>> x;
  std::iota(x.begin(), x.end(), 1.f);  // 1 2 3 / 4 5 6

  loom::tensor<float, loom::extents<>> total = loom::sum(x);  // every axis: rank 0, 21
  loom::tensor<float, loom::extents<2>> row_sums = loom::sum(x, loom::axes<-1>);   // 6 15
  loom::tensor<float, loom::extents<3>> col_means = loom::mean(x, loom::axes<0>);  // 2.5 3.5 4.5
  loom::tensor<float, loom::extents<2, 1>> top = loom::max(x, loom::axes<1>, loom::keepdims);
  loom::tensor<float, loom::extents<2, 3>> shifted = x - top;  // top: 3 / 6; -2 -1 0 / -2 -1 0
  loom::tensor<std::int32_t, loom::extents<2>> at = loom::argmax(x, loom::axes<-1>);  // 2 2
  float t = total();  // a rank-0 tensor takes no index

  loom::tensor<std::int32_t, loom::extents<4>> votes;
  std::iota(votes.begin(), votes.end(), 1);                          // 1 2 3 4
  loom::tensor<float, loom::extents<>> average = loom::mean(votes);  // 2.5: the mean of i32 is f32
  // [/snippet:reductions]
  CHECK(t == 21.f);
  CHECK(row_sums(0) == 6.f);
  CHECK(row_sums(1) == 15.f);
  const float means[] = {2.5f, 3.5f, 4.5f};
  for (std::size_t j = 0; j < 3; ++j) CHECK(col_means(j) == means[j]);
  CHECK(top(0, 0) == 3.f);
  CHECK(top(1, 0) == 6.f);
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j) CHECK(shifted(i, j) == float(j) - 2.f);
  CHECK(at(0) == 2);
  CHECK(at(1) == 2);
  CHECK(average() == 2.5f);

  // The options' spellings are one reduction.
  loom::placeholder<0, float, loom::extents<loom::dyn, loom::dyn, loom::dyn>> p;
  STATIC_REQUIRE(std::is_same_v<decltype(loom::sum(p, loom::axes<-1, 0>)),
                                decltype(loom::sum(p, loom::axes<0, 2>))>);
  STATIC_REQUIRE(std::is_same_v<decltype(loom::max(p, loom::keepdims, loom::axes<1>)),
                                decltype(loom::max(p, loom::axes<1>, loom::keepdims))>);

  // NaN: max and min propagate it, argmax takes it as the largest; over every axis, argmax
  // is the flat row-major index of the first maximum; the sum of a mask counts its trues.
  auto picks = loom::compile(
      [](auto v, auto m, auto mask) {
        return std::make_tuple(
            loom::max(v), loom::min(v), loom::argmax(v), loom::argmax(m), loom::sum(mask));
      },
      loom::input<float, loom::extents<loom::dyn>>{},
      loom::input<float, loom::extents<2, 3>>{},
      loom::input<bool, loom::extents<loom::dyn>>{});
  loom::tensor<float> nan_row(3);
  nan_row(0) = 1.f, nan_row(1) = std::nanf(""), nan_row(2) = 5.f;
  x(0, 2) = 6.f;  // 1 2 6 / 4 5 6: the first 6 wins
  loom::tensor<bool> mask(4);
  mask(0) = true, mask(1) = false, mask(2) = true, mask(3) = true;
  const auto [nan_max, nan_min, nan_at, flat_at, count] = picks(nan_row, x, mask);
  CHECK(std::isnan(nan_max()));
  CHECK(std::isnan(nan_min()));
  CHECK(nan_at() == 1);
  CHECK(flat_at() == 2);
  STATIC_REQUIRE(std::is_same_v<std::remove_cvref_t<decltype(count)>::value_type, std::int32_t>);
  CHECK(count() == 3);
}

TEST_CASE("guide: reductions over an empty axis", "[docs][reduce]") {
  // [snippet:reduction_empty]
  loom::tensor<float, loom::extents<loom::dyn, loom::dyn>> x(3, 0);  // three empty rows
  loom::tensor<float> sums = loom::sum(x, loom::axes<-1>);  // 0 0 0; prod gives 1, mean NaN
  std::string message;
  try {
    loom::max(x, loom::axes<-1>);  // a max of nothing
  } catch (const loom::shape_error& e) {
    message = e.what();  // "loom: max over an empty axis of [3, 0] has no value"
  }
  // [/snippet:reduction_empty]
  REQUIRE(sums.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(sums(i) == 0.f);
  CHECK(message == "loom: max over an empty axis of [3, 0] has no value");
}

TEST_CASE("guide: reductions fuse over rows", "[docs][reduce][fusion]") {
  // [snippet:reduction_fusion]
  using matrix_input = loom::input<float, loom::extents<loom::dyn, loom::dyn>>;
  auto unit_rows = loom::compile(
      [](auto x) {
        auto norm = loom::sqrt(loom::sum(loom::square(x), loom::axes<-1>, loom::keepdims));
        return x / norm;  // each row scaled to length 1
      },
      matrix_input{});
  static_assert(decltype(unit_rows)::kernel_count == 1);  // square, sum, sqrt, /: one pass

  auto centre_columns = loom::compile(
      [](auto x) { return x - loom::mean(x, loom::axes<0>, loom::keepdims); }, matrix_input{});
  static_assert(decltype(centre_columns)::kernel_count == 2);  // column means first, then x - m

  loom::tensor<float, loom::extents<loom::dyn, loom::dyn>> x(2, 2);
  x(0, 0) = 3.f, x(0, 1) = 4.f, x(1, 0) = 0.f, x(1, 1) = -2.f;
  auto u = unit_rows(x);       // 0.6 0.8 / 0 -1
  auto c = centre_columns(x);  // 1.5 3 / -1.5 -3
  // [/snippet:reduction_fusion]
  const double ux[2][2] = {{0.6, 0.8}, {0, -1}}, cx[2][2] = {{1.5, 3}, {-1.5, -3}};
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 2; ++j) {
      CHECK(u(i, j) == Approx(ux[i][j]).epsilon(1e-6));
      CHECK(c(i, j) == Approx(cx[i][j]).epsilon(1e-6));
    }
  using plan = decltype(centre_columns)::plan;
  STATIC_REQUIRE(plan::groups[0].end == loom::group_end::strided_reduction);
}

TEST_CASE("guide: views", "[docs][views]") {
  // [snippet:view_ops]
  auto views = loom::compile(
      [](auto x) {
        return std::make_tuple(loom::reshape<loom::extents<3, loom::dyn>>(x),  // [3, 4]
                               loom::transpose(x),                             // [6, 2]
                               loom::slice<1, 1, -1, 2>(x),                    // x[:, 1:-1:2]
                               loom::broadcast_to<loom::extents<3, 2, 6>>(x));
      },
      loom::input<float, loom::extents<2, 6>>{});  // x: [2, 6]
  loom::tensor<float, loom::extents<2, 6>> x;
  std::iota(x.begin(), x.end(), 0.f);  // 0 1 2 3 4 5 / 6 7 8 9 10 11
  auto [r, t, s, b] = views(x);
  // r: 0 1 2 3 / 4 5 6 7 / 8 9 10 11; t(j, i) == x(i, j); s: 1 3 / 7 9; b(k, i, j) == x(i, j)
  // [/snippet:view_ops]
  STATIC_REQUIRE(std::is_same_v<decltype(r), loom::tensor<float, loom::extents<3, loom::dyn>>>);
  STATIC_REQUIRE(std::is_same_v<decltype(t), loom::tensor<float, loom::extents<6, 2>>>);
  STATIC_REQUIRE(std::is_same_v<decltype(s), loom::tensor<float, loom::extents<2, 2>>>);
  STATIC_REQUIRE(std::is_same_v<decltype(b), loom::tensor<float, loom::extents<3, 2, 6>>>);
  CHECK(r.shape().to_string() == "[3, 4]");
  for (std::size_t k = 0; k < 12; ++k) CHECK(r(k / 4, k % 4) == float(k));
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 6; ++j) {
      CHECK(t(j, i) == x(i, j));
      for (std::size_t k = 0; k < 3; ++k) CHECK(b(k, i, j) == x(i, j));
    }
  CHECK(s(0, 0) == 1.f);
  CHECK(s(0, 1) == 3.f);
  CHECK(s(1, 0) == 7.f);
  CHECK(s(1, 1) == 9.f);

  // A size that does not fit a reshape is caught at run time.
  auto rows_of_four =
      loom::compile([](auto v) { return loom::reshape<loom::extents<loom::dyn, 4>>(v); },
                    loom::input<float, loom::extents<loom::dyn>>{});
  loom::tensor<float> six(6);
  REQUIRE_THROWS_WITH(rows_of_four(six),
                      "loom: reshape: [6] has 6 elements, which do not fit extents [?, 4]");
}

TEST_CASE("guide: views are read in place", "[docs][views][fusion]") {
  // [snippet:view_fusion]
  using matrix_input = loom::input<float, loom::extents<loom::dyn, loom::dyn>>;
  auto direct =
      loom::compile([](auto x) { return loom::exp(loom::transpose(x)) * 2.f; }, matrix_input{});
  static_assert(decltype(direct)::kernel_count == 1);  // reads x through the index map

  auto of_computed =
      loom::compile([](auto x) { return loom::transpose(loom::exp(x)) * 2.f; }, matrix_input{});
  static_assert(decltype(of_computed)::kernel_count == 2);  // exp(x) is stored, then read

  auto flattened = loom::compile(
      [](auto x) { return loom::reshape<loom::extents<loom::dyn>>(loom::transpose(x)); },
      matrix_input{});
  static_assert(decltype(flattened)::kernel_count == 2);  // the transpose is copied first
  // [/snippet:view_fusion]
  loom::tensor<float, loom::extents<loom::dyn, loom::dyn>> x(2, 3);
  std::iota(x.begin(), x.end(), 0.f);
  const auto o = of_computed(x);
  const auto f = flattened(x);
  REQUIRE(o.shape().to_string() == "[3, 2]");
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j) {
      CHECK(o(j, i) == Approx(2 * std::exp(double(x(i, j)))).epsilon(1e-6));
      CHECK(f(j * 2 + i) == x(i, j));  // 0 3 1 4 2 5
    }
}

TEST_CASE("guide: matrix products", "[docs][matmul]") {
  // [snippet:matmul_layer]
  auto layer =
      loom::compile([](auto x, auto w, auto b) { return loom::relu(loom::matmul(x, w) + b) + x; },
                    loom::input<float, loom::extents<loom::dyn, 3>>{},  // a batch of rows
                    loom::input<float, loom::extents<3, 3>>{},          // weights
                    loom::input<float, loom::extents<3>>{});            // bias
  static_assert(decltype(layer)::kernel_count == 1);  // GEMM, bias, relu and residual: one pass
  // [/snippet:matmul_layer]
  loom::tensor<float, loom::extents<loom::dyn, 3>> x(4);
  loom::tensor<float, loom::extents<3, 3>> w;
  loom::tensor<float, loom::extents<3>> b;
  for (std::size_t k = 0; k < x.size(); ++k) x.data()[k] = std::sin(float(k));
  for (std::size_t k = 0; k < w.size(); ++k) w.data()[k] = std::cos(float(k)) * 0.5f;
  b(0) = 0.5f, b(1) = -0.25f, b(2) = 0.f;
  const auto y = layer(x, w, b);
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 3; ++j) {
      double dot = b(j);
      for (std::size_t k = 0; k < 3; ++k) dot += double(x(i, k)) * w(k, j);
      CHECK(y(i, j) == Approx(std::max(dot, 0.0) + x(i, j)).margin(1e-6));
    }

  // [snippet:matmul_shared]
  loom::tensor<float, loom::extents<2, 2, 3>> batch;  // two 2 x 3 matrices
  loom::tensor<float, loom::extents<3, 1>> ones;      // one 3 x 1 matrix
  std::iota(batch.begin(), batch.end(), 0.f);         // 0 1 2 / 3 4 5, 6 7 8 / 9 10 11
  ones.fill(1.f);
  loom::tensor<float, loom::extents<2, 2, 1>> sums = loom::matmul(batch, ones);  // 3 12, 21 30
  // [/snippet:matmul_shared]
  const float want[] = {3.f, 12.f, 21.f, 30.f};
  for (std::size_t k = 0; k < 4; ++k) CHECK(sums.data()[k] == want[k]);
}

TEST_CASE("guide: attention, batched and transposed", "[docs][matmul]") {
  // [snippet:matmul_attention]
  using heads_input = loom::input<float, loom::extents<loom::dyn, loom::dyn, 4>>;  // [h, n, 4]
  auto attention = loom::compile(
      [](auto q, auto k, auto v) {
        auto scores = loom::matmul(q, loom::transpose(k)) * loom::lit<0.5f>;  // 1 / sqrt(4)
        return loom::matmul(loom::softmax(scores), v);
      },
      heads_input{},
      heads_input{},
      heads_input{});
  static_assert(decltype(attention)::kernel_count == 2);  // two GEMMs, each with its epilogue
  // [/snippet:matmul_attention]
  const std::size_t heads = 2, n = 5;
  loom::tensor<float, loom::extents<loom::dyn, loom::dyn, 4>> q(heads, n), k(heads, n), v(heads, n);
  for (std::size_t i = 0; i < q.size(); ++i) {
    q.data()[i] = std::sin(0.7f * float(i));
    k.data()[i] = std::cos(0.3f * float(i));
    v.data()[i] = float(i % 7) - 3.f;
  }
  const auto out = attention(q, k, v);
  REQUIRE(out.shape().to_string() == "[2, 5, 4]");
  for (std::size_t h = 0; h < heads; ++h)
    for (std::size_t i = 0; i < n; ++i) {
      double p[5], total = 0, top = -1e300;
      for (std::size_t j = 0; j < n; ++j) {
        double dot = 0;
        for (std::size_t d = 0; d < 4; ++d) dot += double(q(h, i, d)) * k(h, j, d);
        p[j] = dot * 0.5;
        top = std::max(top, p[j]);
      }
      for (double& e : p) total += e = std::exp(e - top);
      for (std::size_t d = 0; d < 4; ++d) {
        double want = 0;
        for (std::size_t j = 0; j < n; ++j) want += p[j] / total * v(h, j, d);
        CHECK(out(h, i, d) == Approx(want).margin(1e-5));
      }
    }
}

TEST_CASE("guide: composite ops", "[docs][composites]") {
  // [snippet:composites]
  auto classify = loom::compile(
      [](auto logits, auto target) {
        return std::make_tuple(
            loom::softmax(logits), loom::logsumexp(logits), loom::cross_entropy(logits, target));
      },
      loom::input<float, loom::extents<loom::dyn, 3>>{},
      loom::input<float, loom::extents<loom::dyn, 3>>{});
  loom::tensor<float, loom::extents<loom::dyn, 3>> logits(2), target(2);
  logits(0, 0) = 1000.f, logits(0, 1) = 1001.f, logits(0, 2) = 1002.f;  // exp overflows f32
  logits(1, 0) = logits(1, 1) = logits(1, 2) = 0.f;
  target.fill(0.f);
  target(0, 2) = 1.f, target(1, 0) = 1.f;  // one-hot: class 2, class 0
  auto [p, lse, loss] = classify(logits, target);
  // p: 0.090 0.245 0.665 / 1/3 1/3 1/3; lse: 1002.41, log 3; loss: (0.408 + log 3) / 2
  // [/snippet:composites]
  double want_p[2][3], want_lse[2];
  for (std::size_t i = 0; i < 2; ++i) {
    double top = -1e300, total = 0;
    for (std::size_t j = 0; j < 3; ++j) top = std::max(top, double(logits(i, j)));
    for (std::size_t j = 0; j < 3; ++j) total += std::exp(logits(i, j) - top);
    for (std::size_t j = 0; j < 3; ++j) want_p[i][j] = std::exp(logits(i, j) - top) / total;
    want_lse[i] = top + std::log(total);
  }
  for (std::size_t i = 0; i < 2; ++i) {
    for (std::size_t j = 0; j < 3; ++j) CHECK(p(i, j) == Approx(want_p[i][j]).epsilon(1e-6));
    CHECK(lse(i) == Approx(want_lse[i]).epsilon(1e-7));
  }
  CHECK(p(0, 0) == Approx(0.0900306).epsilon(1e-5));
  CHECK(p(0, 2) == Approx(0.6652410).epsilon(1e-5));
  CHECK(lse(0) == Approx(1002.4076).epsilon(1e-7));
  const double want_loss = ((want_lse[0] - 1002.0) + want_lse[1]) / 2;
  CHECK(loss() == Approx(want_loss).epsilon(1e-5));
  CHECK(loss() == Approx((0.40761 + std::log(3.0)) / 2).epsilon(1e-4));

  // A row of -inf: logsumexp -inf, softmax NaN.
  logits(1, 0) = logits(1, 1) = logits(1, 2) = -std::numeric_limits<float>::infinity();
  auto [p_inf, lse_inf, loss_inf] = classify(logits, target);
  CHECK(std::isinf(lse_inf(1)));
  CHECK(lse_inf(1) < 0);
  CHECK(std::isnan(p_inf(1, 0)));
}

TEST_CASE("guide: layer_norm keeps its digits", "[docs][composites]") {
  // [snippet:layer_norm]
  auto norm = loom::compile(
      [](auto x, auto gamma, auto beta) { return loom::layer_norm(x, gamma, beta, 1e-5); },
      loom::input<float, loom::extents<loom::dyn, 4>>{},
      loom::input<float, loom::extents<4>>{},
      loom::input<float, loom::extents<4>>{});
  static_assert(decltype(norm)::kernel_count == 1);  // mean, variance, scaling: one pass
  loom::tensor<float, loom::extents<loom::dyn, 4>> x(1);
  loom::tensor<float, loom::extents<4>> gamma, beta;
  std::iota(x.begin(), x.end(), 10000.f);  // 10000 10001 10002 10003: mean 10001.5, var 1.25
  gamma.fill(1.f);
  beta.fill(0.f);
  auto y = norm(x, gamma, beta);  // (x - 10001.5) / sqrt(1.25 + 1e-5): -1.342 -0.447 0.447 1.342
  // [/snippet:layer_norm]
  for (std::size_t j = 0; j < 4; ++j) {
    const double want = (double(j) - 1.5) / std::sqrt(1.25 + 1e-5);
    CHECK(y(0, j) == Approx(want).epsilon(1e-5));
  }
  CHECK(y(0, 0) == Approx(-1.342).epsilon(1e-3));
  CHECK(y(0, 1) == Approx(-0.447).epsilon(1e-3));
  // The one-pass formula mean(x^2) - mean(x)^2 in f32 would have lost every digit here.
  const float m2 = (1e8f + 10001.f * 10001.f + 10002.f * 10002.f + 10003.f * 10003.f) / 4;
  CHECK(std::abs(double(m2 - 10001.5f * 10001.5f) - 1.25) > 0.1);
}

TEST_CASE("guide: whole-tensor allow_in_graph", "[docs][opaque][calls]") {
  // [snippet:whole_tensor_use]
  auto solver = loom::compile(
      [](auto a, auto b) { return loom::allow_in_graph<lu_solve>{}(a, b * 2.0) + 1.0; },
      loom::input<double, loom::extents<loom::dyn, loom::dyn>>{},
      loom::input<double, loom::extents<loom::dyn, loom::dyn>>{});
  using plan = decltype(solver)::plan;
  static_assert(plan::group_count == 3 && decltype(solver)::kernel_count == 2);
  static_assert(plan::groups[0].end == loom::group_end::call);  // b * 2 is stored for F

  loom::tensor<double, loom::extents<loom::dyn, loom::dyn>> a(2, 2), b(2, 1);
  a(0, 0) = 2, a(0, 1) = 1, a(1, 0) = 1, a(1, 1) = 3;
  b(0, 0) = 1, b(1, 0) = 2;
  auto x = solver(a, b);  // a^-1 (2 b) + 1: 1.4 2.2
  // [/snippet:whole_tensor_use]
  REQUIRE(x.shape().to_string() == "[2, 1]");
  CHECK(x(0, 0) == Approx(1.4).epsilon(1e-12));
  CHECK(x(1, 0) == Approx(2.2).epsilon(1e-12));
}

TEST_CASE("guide: hooks and barriers", "[docs][hooks]") {
  // [snippet:hooks]
  std::vector<float> seen;
  auto watched = loom::compile(
      [&seen](auto x) {
        auto e = loom::hook(loom::exp(x),
                            [&seen](loom::tensor_view<const float, loom::extents<loom::dyn>> v) {
                              seen.assign(v.begin(), v.end());  // copy what you keep
                            });
        return e / loom::sum(e);  // use the hook's result: that puts the hook in the graph
      },
      loom::input<float, loom::extents<loom::dyn>>{});
  loom::tensor<float> x(3);
  x(0) = 0.f, x(1) = 1.f, x(2) = 2.f;
  loom::tensor<float> p = watched(x);  // seen: 1 e e^2; p: the softmax of x
  // [/snippet:hooks]
  REQUIRE(seen.size() == 3);
  const double total = 1 + std::exp(1.0) + std::exp(2.0);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(seen[i] == Approx(std::exp(double(i))).epsilon(1e-6));
    CHECK(p(i) == Approx(std::exp(double(i)) / total).epsilon(1e-6));
  }
  watched(x);
  CHECK(seen.size() == 3);  // assigned again: once per run
  // A dropped hook is not in the graph; a hook used twice runs once; hooks run in the order
  // the graph reaches them, not the order of the statements.
  std::string order;
  auto ordered = loom::compile(
      [&order](auto x) {
        loom::hook(x, [&order](auto) { order += 'd'; });  // dropped
        auto a = loom::hook(x + 1.f, [&order](auto) { order += 'a'; });
        auto b = loom::hook(x * 2.f, [&order](auto) { order += 'b'; });
        return b + a * a;
      },
      loom::input<float, loom::extents<loom::dyn>>{});
  ordered(x);
  CHECK(order == "ba");
  loom::hook(x, [&order](auto) { order += 'e'; });  // eagerly it runs at once
  CHECK(order == "bae");

  // [snippet:fusion_barrier]
  using vector_input = loom::input<float, loom::extents<loom::dyn>>;
  auto fused = loom::compile([](auto x) { return loom::exp(x) * 2.f + 1.f; }, vector_input{});
  auto split = loom::compile([](auto x) { return loom::fusion_barrier(loom::exp(x) * 2.f) + 1.f; },
                             vector_input{});
  static_assert(decltype(fused)::kernel_count == 1);
  static_assert(decltype(split)::kernel_count == 2);  // exp(x) * 2 is stored, then read back
  // [/snippet:fusion_barrier]
  // Not run here: calls_test checks that a barrier changes no result.
  STATIC_REQUIRE(decltype(split)::plan::groups[1].is_call);
}

TEST_CASE("guide: run-time scalars and reuse", "[docs][scalars][cse]") {
  // [snippet:scalar_reuse]
  using rows_input = loom::input<float, loom::extents<loom::dyn, 8>>;
  using weights_input = loom::input<float, loom::extents<8, 8>>;
  const float gain = 0.5f;
  auto reused = loom::compile(
      [gain](auto x, auto w) {
        auto h = loom::matmul(x * gain, w);  // built on a run-time scalar...
        return h * loom::sigmoid(h);         // ...and used twice: one GEMM
      },
      rows_input{},
      weights_input{});
  static_assert(decltype(reused)::node_count == 7 && decltype(reused)::kernel_count == 2);
  assert(reused.apart() == nullptr);  // the copies of h hold the same gain

  const float other_gain = 0.25f;
  auto two_gains = loom::compile(
      [gain, other_gain](auto x, auto w) {
        auto h = loom::matmul(x * gain, w);
        auto k = loom::matmul(x * other_gain, w);  // the type of h, another scalar
        return h * loom::sigmoid(k);
      },
      rows_input{},
      weights_input{});
  assert(two_gains.apart() != nullptr);  // runs op by op

  auto as_input = loom::compile(
      [](auto x, auto w, auto g, auto other) {
        auto h = loom::matmul(x * g, w);  // inputs: any value at each call, fused alike
        auto k = loom::matmul(x * other, w);
        return h * loom::sigmoid(k);
      },
      rows_input{},
      weights_input{},
      loom::input<float, loom::extents<>>{},  // rank 0
      loom::input<float, loom::extents<>>{});
  static_assert(decltype(as_input)::kernel_count == 3);  // two GEMMs, one pass after them

  loom::tensor<float, loom::extents<>> g, other;
  g() = gain, other() = other_gain;  // as_input(x, w, g, other) == two_gains(x, w)
  // [/snippet:scalar_reuse]
  CHECK(reused.apart() == nullptr);  // assert is off in release builds
  CHECK(two_gains.apart() != nullptr);
  loom::tensor<float, loom::extents<loom::dyn, 8>> x(3);
  loom::tensor<float, loom::extents<8, 8>> w;
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = std::sin(float(i));
  for (std::size_t i = 0; i < w.size(); ++i) w.data()[i] = std::cos(float(i)) * 0.25f;
  const auto r = reused(x, w), t = two_gains(x, w), a = as_input(x, w, g, other);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 8; ++j) {
      double h = 0;
      for (std::size_t k = 0; k < 8; ++k) h += 0.5 * double(x(i, k)) * w(k, j);
      CHECK(r(i, j) == Approx(h * sigmoid(h)).margin(1e-6));
      CHECK(t(i, j) == Approx(h * sigmoid(h / 2)).margin(1e-6));
      CHECK(a(i, j) == Approx(t(i, j)).margin(1e-6));
    }
}

namespace {
// [snippet:plan_softmax]
auto softmax = [](auto x) {  // written from primitives; loom::softmax also guards infinities
  auto e = loom::exp(x - loom::max(x, loom::axes<-1>, loom::keepdims));
  return e / loom::sum(e, loom::axes<-1>, loom::keepdims);
};
// [/snippet:plan_softmax]
}  // namespace

TEST_CASE("guide: the fusion plan of a softmax", "[docs][plan][explain]") {
  // [snippet:plan_explain]
  auto compiled = loom::compile(softmax, loom::input<float, loom::extents<loom::dyn, 1024>>{});
  using plan = decltype(compiled)::plan;
  static_assert(decltype(compiled)::kernel_count == 1 && plan::group_count == 1);
  static_assert(plan::step_count == 3 && plan::groups[0].end == loom::group_end::end_of_graph);
  std::string report = loom::explain(compiled);
  // [/snippet:plan_explain]
  // [output:plan_explain]
  const std::string expected = R"(graph: 6 nodes, 1 inputs, 1 outputs, 1 kernels, 1 groups
  %0 = input 0 : f32[?, 1024]
  %1 = max[axes=(1), keepdims] %0 : f32[?, 1]
  %2 = sub %0 %1 : f32[?, 1024]
  %3 = exp %2 : f32[?, 1024]
  %4 = sum[axes=(1), keepdims] %3 : f32[?, 1]
  %5 = div %3 %4 : f32[?, 1024]
  return %5
group 0 (fused pass), row by row (rows: axes before 1)
  step 0: reduce %1; reads %0
  step 1: reduce %4; reads %0 %1; computes %2 %3; keeps %3 in the buffer of %5
  step 2: map; reads %3 %4; computes %5; writes %5
  ends: end of graph
opaque nodes: 0 element-wise (fused as calls), 0 whole-tensor (barriers)
)";
  // [/output:plan_explain]
  CHECK(report == expected);

  // [snippet:fullgraph]
  auto checked =
      loom::compile(softmax, loom::fullgraph, loom::input<float, loom::extents<loom::dyn, 1024>>{});
  // [/snippet:fullgraph]
  STATIC_REQUIRE(std::is_same_v<decltype(checked), decltype(compiled)>);

  // Two layers: the second GEMM starts a group, and fullgraph would name it (%4).
  auto two_layers =
      loom::compile([](auto x, auto w) { return loom::matmul(loom::relu(loom::matmul(x, w)), w); },
                    loom::input<float, loom::extents<loom::dyn, 8>>{},
                    loom::input<float, loom::extents<8, 8>>{});
  using two = decltype(two_layers)::plan;
  STATIC_REQUIRE(two::group_count == 2);
  STATIC_REQUIRE(two::groups[0].end == loom::group_end::matmul);
  STATIC_REQUIRE(two::first_break == 4);
}

TEST_CASE("guide: export as DOT and jaxpr", "[docs][export]") {
  auto compiled = loom::compile(softmax, loom::input<float, loom::extents<loom::dyn, 1024>>{});
  // [snippet:export]
  std::string dot = loom::to_dot(compiled);      // Graphviz: dot -Tsvg plan.dot -o plan.svg
  std::string jaxpr = loom::to_jaxpr(compiled);  // as jax.make_jaxpr prints a function
  // [/snippet:export]
  // [output:jaxpr]
  const std::string expected = R"({ lambda ; a:f32[?,1024]. let
    b:f32[?,1] = reduce_max[axes=(1,) keepdims=True] a
    c:f32[?,1024] = sub a b
    d:f32[?,1024] = exp c
    e:f32[?,1] = reduce_sum[axes=(1,) keepdims=True] d
    f:f32[?,1024] = div d e
  in (f,) })";
  // [/output:jaxpr]
  CHECK(jaxpr == expected);
  CHECK(dot.rfind("digraph loom {\n", 0) == 0);
  CHECK(dot.find("subgraph cluster_0") != std::string::npos);
  CHECK(dot.find("subgraph cluster_1") == std::string::npos);
  CHECK(dot.find("n0 [label=\"%0 input 0\\nf32[?, 1024]\", shape=invhouse];") != std::string::npos);
}
