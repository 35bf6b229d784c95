// Compiled models reading and writing memory the caller owns, at an address loom did not
// choose: views one float past the start of a std::vector's storage, so that no 64-element
// block and no row starts on a SIMD boundary. Each kind of pass goes through such views for its
// inputs and its outputs: an element-wise map with an operand broadcast over the rows, softmax
// rows, a GEMM with its epilogue, and reductions along and across the rows, on one thread and
// on several, against double references.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "../common/matmul_reference.hpp"
#include "../common/rows_reference.hpp"
#include "test_support.hpp"

using loom::dyn;
using loom::extents;
using loom_test::compare;
using loom_test::compare_scaled;
using loom_test::eps_f;
using loom_test::make_shape;
using loom_test::tolerance;
using loom_test::u_f;

namespace {

using loom_test::mat_in;
using loom_test::vec_in;
using mat_view = loom::tensor_view<float, extents<dyn, dyn>>;
using vec_view = loom::tensor_view<float, extents<dyn>>;

// A buffer of the caller's whose view starts one element into a vector's storage: 4 bytes
// off the alignment operator new gives, so off every SIMD boundary. Random normal values.
template <class View>
class offset_buffer {
 public:
  offset_buffer(const loom::shape& s, std::uint32_t seed)
      : storage_(s.size() + 1), view_(storage_.data() + 1, s) {
    loom::tensor<float, extents<dyn>> values(s.size());
    loom_test::fill_normal(values, seed, 0, 2);
    std::copy(values.begin(), values.end(), view_.begin());
  }
  offset_buffer(const offset_buffer&) = delete;
  offset_buffer& operator=(const offset_buffer&) = delete;

  const View& view() const { return view_; }
  // The read-only view a model input takes.
  auto in() const { return loom::tensor_view<const float, typename View::extents_type>(view_); }
  const float* data() const { return view_.data(); }
  std::size_t extent(std::size_t d) const { return view_.extent(d); }
  const loom::shape& shape() const { return view_.shape(); }

 private:
  std::vector<float> storage_;
  View view_;
};

// Shapes with rows that are not a multiple of the block (67, 129 columns), one below and one
// above loom::cpu::parallel_threshold.
struct case_shape {
  std::size_t rows, cols;
};
constexpr case_shape shapes[] = {{5, 67}, {300, 129}};

std::string name_of(case_shape s, int threads) {
  return std::to_string(s.rows) + "x" + std::to_string(s.cols) + ", " + std::to_string(threads) +
         " threads";
}

}  // namespace

TEST_CASE("misaligned views through an element-wise pass", "[views][memory]") {
  auto m = loom::compile([](auto x, auto b) { return x * b + x; }, mat_in{}, vec_in{});
  const int threads = GENERATE(1, 2);
  m.set_threads(threads);
  for (const case_shape s : shapes) {
    offset_buffer<mat_view> x(make_shape({s.rows, s.cols}), 1), out(x.shape(), 2);
    offset_buffer<vec_view> b(make_shape({s.cols}), 3);
    m.run(out.view(), x.in(), b.in());
    // Two roundings (one where the compiler contracts the multiply-add), each within half an
    // ulp of |x b| + |x|.
    LOOM_CHECK_REPORT(compare_scaled(
        out.view(),
        [&](std::size_t i) { return double(x.data()[i]) * b.data()[i % s.cols] + x.data()[i]; },
        [&](std::size_t i) {
          return std::abs(double(x.data()[i]) * b.data()[i % s.cols]) + std::abs(x.data()[i]);
        },
        tolerance{eps_f, 0},
        name_of(s, threads)));
  }
}

TEST_CASE("misaligned views through softmax rows", "[views][memory]") {
  auto m = loom::compile([](auto x) { return loom::softmax(x); }, mat_in{});
  const int threads = GENERATE(1, 2);
  m.set_threads(threads);
  for (const case_shape s : shapes) {
    offset_buffer<mat_view> x(make_shape({s.rows, s.cols}), 4), out(x.shape(), 5);
    m.run(out.view(), x.in());
    // As composites_test: exp of x - max, a sum of up to 129 terms, one inverse.
    LOOM_CHECK_REPORT(compare(out.view(),
                              loom_test::softmax_rows_reference(x.data(), s.rows, s.cols),
                              tolerance{32 * eps_f, 1e-30},
                              name_of(s, threads)));
  }
}

TEST_CASE("misaligned views through a GEMM and its epilogue", "[views][memory][matmul]") {
  auto m = loom::compile(
      [](auto x, auto w, auto b) { return loom::matmul(x, w) + b; }, mat_in{}, mat_in{}, vec_in{});
  const int threads = GENERATE(1, 2);
  m.set_threads(threads);
  for (const case_shape s : shapes) {
    const std::size_t k = 33;  // not a multiple of any packet width
    offset_buffer<mat_view> x(make_shape({s.rows, k}), 6), w(make_shape({k, s.cols}), 7),
        out(make_shape({s.rows, s.cols}), 8);
    offset_buffer<vec_view> b(make_shape({s.cols}), 9);
    m.run(out.view(), x.in(), w.in(), b.in());
    loom_test::reference want =
        loom_test::product_reference(out.shape(), k, loom_test::reader(x), loom_test::reader(w));
    for (std::size_t i = 0; i < want.value.size(); ++i) {
      want.value[i] += b.data()[i % s.cols];
      want.scale[i] += std::abs(b.data()[i % s.cols]);
    }
    // A k-term dot product is within k units of roundoff of the sum of its terms' magnitudes,
    // in any order, with or without FMAs; the bias rounds once more.
    LOOM_CHECK_REPORT(
        compare(out.view(), want, tolerance{double(k + 1) * u_f, 0}, name_of(s, threads)));
  }
}

TEST_CASE("misaligned views through reductions along and across rows", "[views][memory][reduce]") {
  auto m = loom::compile(
      [](auto x) {
        return std::make_tuple(loom::sum(x, loom::axes<-1>), loom::sum(x, loom::axes<0>));
      },
      mat_in{});
  const int threads = GENERATE(1, 2);
  m.set_threads(threads);
  for (const case_shape s : shapes) {
    offset_buffer<mat_view> x(make_shape({s.rows, s.cols}), 10);
    offset_buffer<vec_view> along(make_shape({s.rows}), 11), across(make_shape({s.cols}), 12);
    m.run(std::tie(along.view(), across.view()), x.in());
    // An n-term sum is within n units of roundoff of the sum of the magnitudes, in any order.
    const auto sums = [&](std::size_t count, std::size_t first, std::size_t step) {
      loom_test::reference r{make_shape({count}), {}, {}};
      for (std::size_t o = 0; o < count; ++o) {
        double sum = 0, magnitude = 0;
        const std::size_t n = step == 1 ? s.cols : s.rows;
        for (std::size_t j = 0; j < n; ++j) {
          const double v = x.data()[o * first + j * step];
          sum += v;
          magnitude += std::abs(v);
        }
        r.value.push_back(sum);
        r.scale.push_back(magnitude);
      }
      return r;
    };
    LOOM_CHECK_REPORT(compare(along.view(),
                              sums(s.rows, s.cols, 1),
                              tolerance{double(s.cols) * u_f, 0},
                              name_of(s, threads) + ", along rows"));
    LOOM_CHECK_REPORT(compare(across.view(),
                              sums(s.cols, 1, s.cols),
                              tolerance{double(s.rows) * u_f, 0},
                              name_of(s, threads) + ", across rows"));
  }
}
