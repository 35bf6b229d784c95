// loom::cuda::allow_tf32: off by default, an f32 matmul on the GPU is as accurate as f32
// products summed in f32; allowed, its operands may be rounded to TF32 (10 bits of mantissa,
// relative error up to 2^-11 each) before their products are summed in f32. Against a
// double-precision loop over the same inputs, with the bound of each mode.
#include <cuda_runtime.h>
#include <catch2/catch.hpp>
#include <loom/cuda.hpp>

#include <cmath>
#include <cstddef>

#include "support.hpp"

using namespace cuda_test;

namespace {

constexpr std::size_t m = 64, k = 512, n = 48;
using a_t = loom::tensor<float, extents<m, k>>;
using b_t = loom::tensor<float, extents<k, n>>;

struct product {
  template <class A, class B>
  auto operator()(const A& a, const B& b) const {
    return loom::matmul(a, b);
  }
};

// Restores the default when a test ends, passed or not.
struct tf32_scope {
  explicit tf32_scope(bool allowed) { lc::allow_tf32(allowed); }
  ~tf32_scope() { lc::allow_tf32(false); }
};

// The worst error of `got` against the double-precision product, over the sum of the
// magnitudes of each element's products (the scale every bound below is relative to).
double worst_relative_error(const loom::tensor<float, extents<m, n>>& got,
                            const a_t& a,
                            const b_t& b) {
  double worst = 0;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double want = 0, scale = 0;
      for (std::size_t p = 0; p < k; ++p) {
        want += double(a(i, p)) * double(b(p, j));
        scale += std::abs(double(a(i, p)) * double(b(p, j)));
      }
      worst = std::max(worst, std::abs(double(got(i, j)) - want) / scale);
    }
  return worst;
}

}  // namespace

TEST_CASE("f32 matmul on the GPU: full f32 by default, TF32 where allowed", "[cuda][matmul]") {
  const a_t a = uniform_tensor<float, extents<m, k>>(loom::shape{2, {m, k}}, 1, -1.0, 1.0);
  const b_t b = uniform_tensor<float, extents<k, n>>(loom::shape{2, {k, n}}, 2, -1.0, 1.0);
  scoped_stream stream;
  const auto da = upload(a, stream);
  const auto db = upload(b, stream);
  const auto model = lc::compile(product{}, a, b);
  const auto run = [&] {
    auto host = lc::to_host(model(stream, da, db), stream);
    sync_ok();
    return host;
  };
  CHECK_FALSE(lc::tf32_allowed());
  // f32 sums of k products: within k u_f of the magnitudes (far below: blocked orders).
  const double full = worst_relative_error(run(), a, b);
  CHECK(full <= k * u_f);
  {
    const tf32_scope scope(true);
    CHECK(lc::tf32_allowed());
    // Each product's operands rounded to TF32 (2 * 2^-11), then the same f32 sums.
    const double tf32 = worst_relative_error(run(), a, b);
    INFO("worst error relative to the magnitudes: f32 " << full << ", TF32 allowed " << tf32);
    CHECK(tf32 <= 2 * 0x1p-11 + k * u_f);
  }
  CHECK_FALSE(lc::tf32_allowed());
}
