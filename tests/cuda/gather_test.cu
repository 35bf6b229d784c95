// Whole-tensor nodes of loom's own on the GPU: take_along_axis and cross_entropy on class
// indices, the gather and its scatter-add gradient (kernels of backends/cuda/gather.hpp), and
// the gradients of slice and reshape (backends/cuda/view_gradients.hpp), against a
// double-precision reference.
// An index outside its axis reads as NaN on the GPU (a kernel cannot throw). The gradient model is
// a small one: nvcc's front end plans larger joint graphs (a log_softmax's gradient) for minutes.
#include <cuda_runtime.h>
#include <catch2/catch.hpp>
#include <loom/cuda.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <vector>

#include "support.hpp"

using namespace cuda_test;

namespace {

using logits_input = loom::input<float, extents<dyn, dyn>>;
using classes_input = loom::input<std::int32_t, extents<dyn>>;

struct cross_entropy_fn {
  template <class L, class C>
  auto operator()(const L& logits, const C& classes) const {
    return loom::cross_entropy(logits, classes);
  }
};

// sum(take_along_axis(x, at) * w): its gradient scatters w to where each value was read.
struct weighted_take {
  template <class X, class I, class W>
  auto operator()(const X& x, const I& at, const W& w) const {
    return loom::sum(loom::take_along_axis<1>(x, at) * w);
  }
};

// Names the row count that the gradient's inputs share (at namespace scope: nvcc rejects
// local types in the arguments of kernels).
struct batch_rows;
using rows_of = loom::dims<batch_rows, loom::unnamed>;

struct take_along_rows {
  template <class X, class I>
  auto operator()(const X& x, const I& at) const {
    return loom::take_along_axis<1>(x, at);
  }
};

// Every third column from column 1 of x, weighted.
struct weighted_columns {
  template <class X, class W>
  auto operator()(const X& x, const W& w) const {
    return loom::sum(loom::slice<1, 1, 8, 3>(x) * w);
  }
};
// A matrix of two dyn extents flattened: its gradient is a copy, not a view.
struct flattened {
  template <class X>
  auto operator()(const X& x) const {
    return loom::sum(loom::square(loom::reshape<extents<dyn>>(x)));
  }
};

// At namespace scope: nvcc rewrites such an alias in a function with lambdas into one that
// is no valid C++ (`extents<dyn, unsigned long((9))>`).
using sliced_t = extents<dyn, 9>;
using slice_weights_t = extents<dyn, 3>;

// The rows of x from the third on, squared: the sliced axis is dyn, so the gradient node reads
// x's extent.
struct later_rows {
  template <class X>
  auto operator()(const X& x) const {
    return loom::sum(loom::square(loom::slice<0, 2>(x)));
  }
};

}  // namespace

TEST_CASE("cross_entropy on class indices on the GPU", "[gather]") {
  scoped_stream stream;
  const std::size_t rows = 300, classes = 37;
  const auto logits =
      normal_tensor<float, extents<dyn, dyn>>(make_shape({rows, classes}), 1, 0.0, 2.0);
  auto labels = int_tensor<std::int32_t>(make_shape({rows}), 2, -int(classes), int(classes) - 1);
  auto gpu_loss = lc::compile(cross_entropy_fn{}, logits_input{}, classes_input{});
  const auto loss = call_fresh(gpu_loss, stream, upload(logits, stream), upload(labels, stream));
  double want = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    double m = -INFINITY, s = 0;
    for (std::size_t c = 0; c < classes; ++c)
      m = std::max(m, double(logits.data()[r * classes + c]));
    for (std::size_t c = 0; c < classes; ++c)
      s += std::exp(double(logits.data()[r * classes + c]) - m);
    const int k = labels.data()[r] < 0 ? labels.data()[r] + int(classes) : labels.data()[r];
    want -= double(logits.data()[r * classes + std::size_t(k)]) - m - std::log(s);
  }
  want /= double(rows);
  CHECK(std::abs(double(*loss.data()) - want) <= 64 * eps_f * std::abs(want));
  sync_ok();
}

TEST_CASE("the gradient of take_along_axis on the GPU adds at each element read", "[gather]") {
  scoped_stream stream;
  constexpr std::size_t n = 500, width = 9, picks = 20;
  using x_t = extents<dyn, width>;
  using at_t = extents<dyn, picks>;
  const auto x = normal_tensor<float, x_t>(make_shape({n, width}), 3, 0.0, 1.0);
  const auto at =
      int_tensor<std::int32_t, at_t>(make_shape({n, picks}), 4, -int(width), int(width) - 1);
  const auto w = normal_tensor<float, at_t>(make_shape({n, picks}), 5, 0.0, 1.0);
  const auto inputs = std::make_tuple(loom::input<float, x_t, rows_of>{},
                                      loom::input<std::int32_t, at_t, rows_of>{},
                                      loom::input<float, at_t, rows_of>{});
  auto gpu = std::apply([](auto... in) { return lc::compile(loom::grad(weighted_take{}), in...); },
                        inputs);
  const auto g = call_fresh(gpu, stream, upload(x, stream), upload(at, stream), upload(w, stream));
  // Each element of x gets the sum of the weights of its reads: exact up to the order of
  // the atomic additions.
  std::vector<double> want(n * width, 0.0);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j < picks; ++j) {
      const int k = at.data()[r * picks + j];
      want[r * width + std::size_t(k < 0 ? k + int(width) : k)] += w.data()[r * picks + j];
    }
  LOOM_CHECK_REPORT(loom_test::compare_with(
      g, [&](std::size_t i) { return want[i]; }, tolerance{8 * eps_f, 1e-6}, "gradient"));
  sync_ok();
}

TEST_CASE("take_along_axis reads NaN for an index outside the axis on the GPU", "[gather]") {
  scoped_stream stream;
  loom::tensor<float, extents<dyn, dyn>> x(2, 3);
  for (std::size_t i = 0; i < 6; ++i) x.data()[i] = float(i);
  loom::tensor<std::int32_t, extents<dyn, dyn>> at(2, 2);
  at.data()[0] = 2, at.data()[1] = -3, at.data()[2] = 3, at.data()[3] = 0;
  auto gpu = lc::compile(take_along_rows{},
                         loom::input<float, extents<dyn, dyn>>{},
                         loom::input<std::int32_t, extents<dyn, dyn>>{});
  const auto got = call_fresh(gpu, stream, upload(x, stream), upload(at, stream));
  CHECK(got.data()[0] == 2.f);
  CHECK(got.data()[1] == 0.f);
  CHECK(std::isnan(got.data()[2]));
  CHECK(got.data()[3] == 3.f);
  sync_ok();
}

TEST_CASE("the gradient of slice on the GPU is the cotangent in place, zero elsewhere",
          "[gather]") {
  scoped_stream stream;
  constexpr std::size_t n = 300;
  const std::size_t slice_width = 9;
  const auto x = normal_tensor<float, sliced_t>(make_shape({n, slice_width}), 6, 0.0, 1.0);
  const auto w = normal_tensor<float, slice_weights_t>(make_shape({n, 3}), 7, 0.0, 1.0);
  auto columns = lc::compile(loom::grad(weighted_columns{}),
                             loom::input<float, sliced_t, rows_of>{},
                             loom::input<float, slice_weights_t, rows_of>{});
  const auto g = call_fresh(columns, stream, upload(x, stream), upload(w, stream));
  const auto weight_at = [&](std::size_t i) {
    const std::size_t c = i % slice_width;
    return c % 3 == 1 ? double(w.data()[i / slice_width * 3 + c / 3]) : 0.0;
  };
  LOOM_CHECK_REPORT(loom_test::compare_with(g, weight_at, tolerance{0, 0}, "columns"));
  auto rows = lc::compile(loom::grad(later_rows{}), loom::input<float, sliced_t>{});
  const auto gr = call_fresh(rows, stream, upload(x, stream));
  const auto twice_later = [&](std::size_t i) {
    return i < 2 * slice_width ? 0.0 : 2.0 * double(x.data()[i]);
  };
  LOOM_CHECK_REPORT(loom_test::compare_with(gr, twice_later, tolerance{0, 0}, "rows"));
  auto flat = lc::compile(loom::grad(flattened{}), loom::input<float, extents<dyn, dyn>>{});
  const auto x_any = normal_tensor<float, extents<dyn, dyn>>(make_shape({n, 9}), 8, 0.0, 1.0);
  const auto gf = call_fresh(flat, stream, upload(x_any, stream));
  const auto twice = [&](std::size_t i) {
    return 2.0 * double(x_any.data()[i]);
  };
  LOOM_CHECK_REPORT(loom_test::compare_with(gf, twice, tolerance{0, 0}, "flattened"));
  sync_ok();
}
