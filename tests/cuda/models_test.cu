// Whole models on the GPU: softmax, log_softmax and layer_norm row by row (a warp per row,
// vector packs or not, a block per row for rows above 2048); matmul through cuBLAS (2-D with
// 1xN and Nx1 shapes, batched, a shared or broadcast batch operand, transposed operands read
// in place, f64, an inner extent of 0, shape errors); an MLP layer and a softmax over a GEMM
// (epilogue kernels after the GEMM); an attention block; a whole-tensor F enqueuing its own
// kernel on loom's stream; hooks with device and host callbacks; fusion_barrier; capture()
// into a CUDA graph replayed with launch(); a created (non-blocking) stream.
//
// Each result is compared with a double-precision reference and with the CPU backend's
// result for the same model. The softmax, log_softmax and layer_norm bounds follow
// tests/unit/composites_test.cpp (relative to each element's own error scale), doubled for
// the device's exp and log and its summation order, and doubled again against the CPU (both
// round). GEMMs: (8 + 2 sqrt(k)) eps times the sum of the magnitudes of the k products, far
// below the size of one product term (about 1/k of that sum) for k up to a thousand.
#include <cuda_runtime.h>
#include <catch2/catch.hpp>
#include <loom/cuda.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "../common/matmul_reference.hpp"
#include "support.hpp"

using Catch::Matchers::Contains;
using namespace cuda_test;
using loom_test::at;
using loom_test::gemm_dims;
using loom_test::product_reference;
using loom_test::reader;

namespace {

using vec = loom::tensor<float, extents<dyn>>;
using mat = loom::tensor<float, extents<dyn, dyn>>;
using cube = loom::tensor<float, extents<dyn, dyn, dyn>>;
using vec_input = loom::input<float, extents<dyn>>;
using mat_input = loom::input<float, extents<dyn, dyn>>;
using cube_input = loom::input<float, extents<dyn, dyn, dyn>>;

constexpr double eps_d = std::numeric_limits<double>::epsilon();

// A reference whose values are the CPU's result, with the error scales of `like`.
template <class T>
reference cpu_reference(const T& cpu, const reference& like) {
  reference r{cpu.shape(), {}, like.scale};
  r.value.assign(cpu.begin(), cpu.end());
  return r;
}

std::string text(const loom::shape& s) {
  return s.to_string();
}

// --- softmax, log_softmax, layer_norm references
// ---------------------------------------------------

// softmax (scale: the value: a relative bound) or log_softmax (scale: |x - max| + |log sum|
// + 1) of each row of x, in double.
reference softmax_ref(const mat& x, bool log) {
  const std::size_t rows = x.extent(0), cols = x.extent(1);
  reference r{x.shape(), std::vector<double>(x.size()), std::vector<double>(x.size())};
  for (std::size_t i = 0; i < rows; ++i) {
    double m = -INFINITY, sum = 0;
    for (std::size_t k = 0; k < cols; ++k) m = std::max(m, double(x(i, k)));
    for (std::size_t k = 0; k < cols; ++k) sum += std::exp(double(x(i, k)) - m);
    const double log_sum = std::log(sum);
    for (std::size_t k = 0; k < cols; ++k) {
      const double shifted = double(x(i, k)) - m;
      const std::size_t at = i * cols + k;
      if (log) {
        r.value[at] = shifted - log_sum;
        r.scale[at] = std::abs(shifted) + std::abs(log_sum) + 1;
      } else {
        r.value[at] = std::exp(shifted) / sum;
        r.scale[at] = r.value[at];
      }
    }
  }
  return r;
}

// layer_norm of each row (two-pass mean, biased variance) with gamma and beta; scale
// |gamma| (|z| + |mean| / sigma + 1) + |beta|: the float mean is off by a few ulps of |mean|,
// which the normalisation magnifies by 1 / sigma.
reference layer_norm_ref(const mat& x, const vec& gamma, const vec& beta, double eps) {
  const std::size_t rows = x.extent(0), cols = x.extent(1);
  reference r{x.shape(), std::vector<double>(x.size()), std::vector<double>(x.size())};
  for (std::size_t i = 0; i < rows; ++i) {
    double mean = 0, var = 0;
    for (std::size_t k = 0; k < cols; ++k) mean += x(i, k);
    mean /= double(cols);
    for (std::size_t k = 0; k < cols; ++k) var += (x(i, k) - mean) * (x(i, k) - mean);
    var /= double(cols);
    const double sigma = std::sqrt(var + eps);
    for (std::size_t k = 0; k < cols; ++k) {
      const double z = (x(i, k) - mean) / sigma;
      r.value[i * cols + k] = z * gamma(k) + beta(k);
      r.scale[i * cols + k] =
          std::abs(double(gamma(k))) * (std::abs(z) + std::abs(mean) / sigma + 1) +
          std::abs(double(beta(k)));
    }
  }
  return r;
}

// Against the CPU's result, check_single allows twice these.
constexpr tolerance softmax_tol{64 * eps_f, 1e-30};
constexpr tolerance log_tol{16 * eps_f, 0};
constexpr tolerance norm_tol{24 * eps_f, 0};

// Rows of a warp each with vector packs (1024, 1000), without (1003: odd, 130 with rows
// not 16-byte aligned), a block per row (3000, 5000; 7 rows: 1024 threads each), a single
// element, and more rows than one wave of warps.
struct dims {
  std::size_t rows, cols;
};
const std::vector<dims> row_shapes{
    {64, 1024}, {33, 1000}, {8, 1003}, {7, 3000}, {2, 5000}, {1, 1}, {300, 130}, {3000, 64}};

// --- matmul bounds (the reference: tests/common/matmul_reference.hpp) ----------------------------

tolerance gemm_tol(std::size_t k, double eps = eps_f) {
  return {(8 + 2 * std::sqrt(double(k))) * eps, eps};
}
tolerance twice(tolerance t) {
  return {2 * t.rel, 2 * t.abs};
}

// Checks the GPU's result of a model both ways (run() into poisoned buffers, operator())
// against a reference and against the CPU's result.
template <class Cpu, class Gpu, class... Args>
void check_single(const Cpu& cpu_result,
                  const Gpu& gpu,
                  const reference& want,
                  tolerance tol,
                  const std::string& what,
                  const Args&... device_args) {
  CT_CHECK_REPORT(compare(cpu_result, want, tol, what + " cpu vs double"));
  guarded(what, [&] {
    const auto into = run_poisoned(gpu, cpu_result, nullptr, device_args...);
    const auto fresh = call_fresh(gpu, nullptr, device_args...);
    CT_CHECK_REPORT(compare(into, want, tol, what + " run vs double"));
    CT_CHECK_REPORT(compare(fresh, want, tol, what + " operator() vs double"));
    CT_CHECK_REPORT(compare(into, cpu_reference(cpu_result, want), twice(tol), what + " vs cpu"));
  });
}

// The 2-D products of random [rows, k] and [k, cols] matrices of T in [-1, 1] for each of
// `shapes`, through check_single (the bound: gemm_tol(k, eps)). `seed` numbers the operands.
template <class T, class Cpu, class Gpu>
void check_2d_products(const Cpu& cpu,
                       const Gpu& gpu,
                       const std::vector<gemm_dims>& shapes,
                       std::uint32_t seed,
                       double eps,
                       const std::string& label) {
  for (const auto& [rows, k, cols] : shapes) {
    const auto a = uniform_tensor<T, extents<dyn, dyn>>(make_shape({rows, k}), seed++, -1, 1);
    const auto b = uniform_tensor<T, extents<dyn, dyn>>(make_shape({k, cols}), seed++, -1, 1);
    const auto da = upload(a);
    const auto db = upload(b);
    check_single(cpu(a, b),
                 gpu,
                 product_reference(make_shape({rows, cols}), k, reader(a), reader(b)),
                 gemm_tol(k, eps),
                 label + text(a.shape()) + " x " + text(b.shape()),
                 da,
                 db);
  }
}

// --- callables of the graph (namespace scope: see support.hpp) -----------------------------------

// Sums each row into out, one thread per row, in the same order as the CPU overload.
__global__ void row_sums_kernel(const float* in, float* out, std::size_t rows, std::size_t cols) {
  const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
  for (std::size_t r = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; r < rows; r += stride) {
    float s = 0;
    for (std::size_t c = 0; c < cols; ++c) s += in[r * cols + c];
    out[r] = s;
  }
}

// What a whole-tensor F saw: calls per backend, the stream, and (on the device) a copy of its
// input made in stream order.
struct call_record {
  int host_calls = 0;
  int device_calls = 0;
  cudaStream_t stream = nullptr;
  float* seen = nullptr;  // device buffer of `capacity` floats
  std::size_t capacity = 0;
  std::size_t seen_size = 0;
};

// Row sums of a [rows, cols] matrix: whole tensor in, [rows] out. The CPU overload runs in
// the CPU backend (and is needed for tracing); the device overload enqueues a kernel of its
// own on loom's stream.
struct row_sums {
  using granularity = loom::whole_tensor;
  template <class E>
  using output_extents = extents<dyn>;
  static loom::shape output_shape(const loom::shape& in) { return make_shape({in.dims[0]}); }

  call_record* rec;

  void operator()(loom::tensor_view<const float, extents<dyn, dyn>> in,
                  loom::tensor_view<float, extents<dyn>> out) const {
    ++rec->host_calls;
    for (std::size_t r = 0; r < in.extent(0); ++r) {
      float s = 0;
      for (std::size_t c = 0; c < in.extent(1); ++c) s += in(r, c);
      out(r) = s;
    }
  }
  void operator()(lc::device_view<const float, extents<dyn, dyn>> in,
                  lc::device_view<float, extents<dyn>> out,
                  cudaStream_t stream) const {
    ++rec->device_calls;
    rec->stream = stream;
    rec->seen_size = in.size();
    if (in.size() != 0 && in.size() <= rec->capacity)
      (void)cudaMemcpyAsync(
          rec->seen, in.data(), in.size() * sizeof(float), cudaMemcpyDeviceToDevice, stream);
    const std::size_t rows = in.extent(0), cols = in.extent(1);
    if (rows != 0)
      row_sums_kernel<<<unsigned((rows + 255) / 256), 256, 0, stream>>>(
          in.data(), out.data(), rows, cols);
  }
};

// A hook's record: calls per kind, the stream, and the value seen (copied on the device in
// stream order, or on the host).
struct hook_record {
  int device_calls = 0;
  int host_calls = 0;
  cudaStream_t stream = nullptr;
  float* dst = nullptr;  // device buffer of `capacity` floats
  std::size_t capacity = 0;
  std::size_t size = 0;
  std::vector<float> host_seen;
  loom::shape host_shape;
};

// Takes device views (preferred on the GPU) and host views (the CPU backend, and tracing).
struct device_recorder {
  hook_record* rec;
  void operator()(lc::device_view<const float, extents<dyn, dyn>> v, cudaStream_t stream) {
    ++rec->device_calls;
    rec->stream = stream;
    rec->size = v.size();
    if (v.size() != 0 && v.size() <= rec->capacity)
      (void)cudaMemcpyAsync(
          rec->dst, v.data(), v.size() * sizeof(float), cudaMemcpyDeviceToDevice, stream);
  }
  void operator()(loom::tensor_view<const float, extents<dyn, dyn>> v) {
    ++rec->host_calls;
    rec->host_seen.assign(v.begin(), v.end());
    rec->host_shape = v.shape();
  }
};

// Takes host views only: on the GPU loom copies the value to the host first.
struct host_recorder {
  hook_record* rec;
  void operator()(loom::tensor_view<const float, extents<dyn, dyn>> v) {
    ++rec->host_calls;
    rec->host_seen.assign(v.begin(), v.end());
    rec->host_shape = v.shape();
  }
};

// --- models ------------------------------------------------------------------------------------

const auto softmax_fn = [](auto x) {
  return loom::softmax(x);
};
const auto log_softmax_fn = [](auto x) {
  return loom::log_softmax(x);
};
const auto layer_norm_fn = [](auto x, auto g, auto b) {
  return loom::layer_norm(x, g, b, 1e-5);
};
const auto matmul_fn = [](auto a, auto b) {
  return loom::matmul(a, b);
};
const auto mlp_relu_fn = [](auto x, auto w, auto b) {
  return loom::relu(loom::matmul(x, w) + b);
};
const auto mlp_softmax_fn = [](auto x, auto w, auto b) {
  return loom::softmax(loom::matmul(x, w) + b);
};

constexpr std::size_t d_model = 32;
static constexpr float attention_scale = 0.17677669529663687f;  // 1 / sqrt(d_model)
const auto attention_fn = [](auto x, auto wq, auto wk, auto wv, auto gamma, auto beta) {
  // One declaration each: traced, the three products have different types (one `auto` for
  // all three, as in examples/attention.cpp, is ill-formed and nvcc rejects it).
  auto q = loom::matmul(x, wq);
  auto k = loom::matmul(x, wk);
  auto v = loom::matmul(x, wv);
  auto p = loom::softmax(loom::matmul(q, loom::transpose(k)) * loom::lit<attention_scale>);
  return loom::layer_norm(loom::matmul(p, v) + x, gamma, beta, 1e-5);
};
using weights_input = loom::input<float, extents<d_model, d_model>>;
using model_vec_input = loom::input<float, extents<d_model>>;
using tokens = loom::tensor<float, extents<dyn, d_model>>;
using weights = loom::tensor<float, extents<d_model, d_model>>;
using model_vec = loom::tensor<float, extents<d_model>>;

// The attention block in double, written out (examples/attention.cpp).
reference attention_ref(const tokens& x,
                        const weights& wq,
                        const weights& wk,
                        const weights& wv,
                        const model_vec& gamma,
                        const model_vec& beta) {
  const std::size_t n = x.extent(0), d = d_model;
  auto project = [&](const weights& w) {
    std::vector<double> out(n * d, 0.0);
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t j = 0; j < d; ++j)
        for (std::size_t i = 0; i < d; ++i) out[t * d + j] += double(x(t, i)) * w(i, j);
    return out;
  };
  const auto q = project(wq), k = project(wk), v = project(wv);
  reference r{x.shape(), std::vector<double>(n * d), {}};
  for (std::size_t t = 0; t < n; ++t) {
    std::vector<double> p(n, 0.0);
    double top = -1e300, total = 0;
    for (std::size_t s = 0; s < n; ++s) {
      for (std::size_t j = 0; j < d; ++j) p[s] += q[t * d + j] * k[s * d + j];
      p[s] /= std::sqrt(double(d));
      top = std::max(top, p[s]);
    }
    for (double& e : p) total += e = std::exp(e - top);
    std::vector<double> row(d, 0.0);
    double mean = 0, var = 0;
    for (std::size_t j = 0; j < d; ++j) {
      row[j] = x(t, j);
      for (std::size_t s = 0; s < n; ++s) row[j] += p[s] / total * v[s * d + j];
      mean += row[j] / double(d);
    }
    for (double e : row) var += (e - mean) * (e - mean) / double(d);
    for (std::size_t j = 0; j < d; ++j)
      r.value[t * d + j] = (row[j] - mean) / std::sqrt(var + 1e-5) * gamma(j) + beta(j);
  }
  return r;
}

// The attention block's CPU model, over any number of tokens.
auto compile_attention() {
  return loom::compile(attention_fn,
                       loom::input<float, extents<dyn, d_model>>{},
                       weights_input{},
                       weights_input{},
                       weights_input{},
                       model_vec_input{},
                       model_vec_input{});
}

// Random inputs of the attention block for n tokens (`seed` numbers them): x ~ N(0, 1), the
// weights ~ N(0, 1 / d_model) so that the projections stay of order 1, gamma ~ N(1, 0.1) and
// beta ~ N(0, 0.1).
struct attention_inputs {
  tokens x;
  weights wq, wk, wv;
  model_vec gamma, beta;

  attention_inputs(std::size_t n, std::uint32_t& seed) : x(make_shape({n, d_model})) {
    fill_normal(x, seed++, 0, 1);
    for (weights* w : {&wq, &wk, &wv}) fill_normal(*w, seed++, 0, 1 / std::sqrt(double(d_model)));
    fill_normal(gamma, seed++, 1, 0.1);
    fill_normal(beta, seed++, 0, 0.1);
  }

  template <class Cpu>
  auto on_cpu(const Cpu& cpu) const {
    return cpu(x, wq, wk, wv, gamma, beta);
  }
  reference expected() const { return attention_ref(x, wq, wk, wv, gamma, beta); }
  // Device copies, in the model's argument order.
  auto on_device(cudaStream_t stream = nullptr) const {
    return std::make_tuple(upload(x, stream),
                           upload(wq, stream),
                           upload(wk, stream),
                           upload(wv, stream),
                           upload(gamma, stream),
                           upload(beta, stream));
  }
};

}  // namespace

TEST_CASE("softmax and log_softmax over rows of many widths", "[models][softmax]") {
  auto cpu_sm = loom::compile(softmax_fn, mat_input{});
  auto gpu_sm = loom::cuda::to_cuda(cpu_sm);
  auto cpu_lsm = loom::compile(log_softmax_fn, mat_input{});
  auto gpu_lsm = loom::cuda::compile(log_softmax_fn, mat_input{});
  std::uint32_t seed = 100;
  for (const dims& d : row_shapes) {
    const mat x =
        normal_tensor<float, extents<dyn, dyn>>(make_shape({d.rows, d.cols}), seed++, 1, 3);
    const auto dx = upload(x);
    check_single(
        cpu_sm(x), gpu_sm, softmax_ref(x, false), softmax_tol, "softmax " + text(x.shape()), dx);
    check_single(
        cpu_lsm(x), gpu_lsm, softmax_ref(x, true), log_tol, "log_softmax " + text(x.shape()), dx);
  }
  sync_ok();
}

TEST_CASE("layer_norm with gamma and beta over rows of many widths", "[models][layer_norm]") {
  auto cpu = loom::compile(layer_norm_fn, mat_input{}, vec_input{}, vec_input{});
  auto gpu = loom::cuda::to_cuda(cpu);
  std::uint32_t seed = 200;
  std::vector<dims> shapes = row_shapes;
  shapes.push_back({4, 1000});  // below: a mean far from 0 against the spread
  for (std::size_t s = 0; s < shapes.size(); ++s) {
    const dims d = shapes[s];
    mat x(make_shape({d.rows, d.cols}));
    if (s + 1 == shapes.size())
      fill_uniform(x, seed++, 1e4 - 1, 1e4 + 1);
    else
      fill_normal(x, seed++, 1, 3);
    const vec gamma = normal_tensor<float>(make_shape({d.cols}), seed++, 1, 0.5);
    const vec beta = normal_tensor<float>(make_shape({d.cols}), seed++, 0, 1);
    const auto dx = upload(x);
    const auto dg = upload(gamma);
    const auto db = upload(beta);
    check_single(cpu(x, gamma, beta),
                 gpu,
                 layer_norm_ref(x, gamma, beta, 1e-5),
                 norm_tol,
                 "layer_norm " + text(x.shape()),
                 dx,
                 dg,
                 db);
  }
  sync_ok();
}

TEST_CASE("matmul of 2-D matrices, 1xN . NxK and MxN . Nx1 included - inner extent 0 - errors",
          "[models][matmul]") {
  auto cpu = loom::compile(matmul_fn, mat_input{}, mat_input{});
  auto gpu = loom::cuda::to_cuda(cpu);
  check_2d_products<float>(
      cpu,
      gpu,
      loom_test::degenerate_gemms_and(
          {{64, 33, 65}, {130, 257, 70}, {1, 1000, 512}, {256, 1000, 1}, {512, 512, 512}}),
      300,
      eps_f,
      "");
  SECTION("an inner extent of 0 gives zeros (into a poisoned output)") {
    const auto da = upload(mat(make_shape({3, 0})));
    const auto db = upload(mat(make_shape({0, 4})));
    auto out = poisoned<float, extents<dyn, dyn>>(make_shape({3, 4}));
    gpu.run(nullptr, out, da, db);
    const mat c = lc::to_host(out);
    for (float v : c) CHECK(v == 0.f);
  }
  SECTION("shapes that do not multiply throw shape_error with both shapes") {
    const auto da = upload(uniform_tensor<float, extents<dyn, dyn>>(make_shape({3, 4}), 1, -1, 1));
    const auto db = upload(uniform_tensor<float, extents<dyn, dyn>>(make_shape({5, 2}), 2, -1, 1));
    CHECK_THAT(shape_error_message([&] { (void)gpu(nullptr, da, db); }),
               Contains("[3, 4]") && Contains("[5, 2]"));
  }
  sync_ok();
}

TEST_CASE("batched matmul: equal batches, a batch of one, a shared matrix", "[models][matmul]") {
  auto cpu3 = loom::compile(matmul_fn, cube_input{}, cube_input{});
  auto gpu3 = loom::cuda::to_cuda(cpu3);
  auto cpu_shared = loom::compile(matmul_fn, cube_input{}, mat_input{});
  auto gpu_shared = loom::cuda::to_cuda(cpu_shared);
  struct batch_case {
    std::size_t batches, rows, k, cols;
    bool one;  // the right operand is a batch of one
  };
  const batch_case cases[] = {{4, 5, 6, 3, false},
                              {4, 5, 6, 3, true},
                              {8, 64, 128, 32, false},
                              {3, 1, 300, 1, false},
                              {16, 33, 17, 9, true}};
  std::uint32_t seed = 400;
  for (const batch_case& c : cases) {
    const cube a = uniform_tensor<float, extents<dyn, dyn, dyn>>(
        make_shape({c.batches, c.rows, c.k}), seed++, -1, 1);
    const cube b = uniform_tensor<float, extents<dyn, dyn, dyn>>(
        make_shape({c.one ? 1 : c.batches, c.k, c.cols}), seed++, -1, 1);
    const mat w =
        uniform_tensor<float, extents<dyn, dyn>>(make_shape({c.k, c.cols}), seed++, -1, 1);
    const auto da = upload(a);
    const auto db = upload(b);
    const auto dw = upload(w);
    const loom::shape out = make_shape({c.batches, c.rows, c.cols});
    check_single(cpu3(a, b),
                 gpu3,
                 product_reference(out, c.k, reader(a), reader(b)),
                 gemm_tol(c.k),
                 text(a.shape()) + " x " + text(b.shape()),
                 da,
                 db);
    check_single(cpu_shared(a, w),
                 gpu_shared,
                 product_reference(out, c.k, reader(a), reader(w)),
                 gemm_tol(c.k),
                 text(a.shape()) + " x " + text(w.shape()),
                 da,
                 dw);
  }
  sync_ok();
}

TEST_CASE("transposed operands are read in place: matmul(transpose(a), b), matmul(a, transpose(c))",
          "[models][matmul][views]") {
  const auto model = [](auto a, auto b, auto c) {
    return std::make_tuple(loom::matmul(loom::transpose(a), b),
                           loom::matmul(a, loom::transpose(c)));
  };
  auto cpu = loom::compile(model, mat_input{}, mat_input{}, mat_input{});
  auto gpu = loom::cuda::to_cuda(cpu);
  // Only the two products are stored: the transposes are views the GEMM reads.
  std::size_t materialised = 0;
  for (bool m : loom::fusion_plan<decltype(gpu)::graph_type>::materialized) materialised += m;
  CHECK(materialised == 2);
  const std::size_t shapes[][4] = {{7, 5, 4, 9}, {300, 130, 70, 200}, {1, 1, 1, 1}, {64, 1, 3, 2}};
  std::uint32_t seed = 500;
  for (const auto& [m, n, p, q] : shapes) {
    // a [m, n], b [m, p], c [q, n]: a^T b is [n, p] over m; a c^T is [m, q] over n.
    const mat a = uniform_tensor<float, extents<dyn, dyn>>(make_shape({m, n}), seed++, -1, 1);
    const mat b = uniform_tensor<float, extents<dyn, dyn>>(make_shape({m, p}), seed++, -1, 1);
    const mat c = uniform_tensor<float, extents<dyn, dyn>>(make_shape({q, n}), seed++, -1, 1);
    const auto da = upload(a);
    const auto db = upload(b);
    const auto dc = upload(c);
    const reference atb = product_reference(
        make_shape({n, p}),
        m,
        [&](std::size_t, std::size_t i, std::size_t r) { return at(a, 0, r, i); },
        reader(b));
    const reference act = product_reference(
        make_shape({m, q}), n, reader(a), [&](std::size_t, std::size_t r, std::size_t j) {
          return at(c, 0, j, r);
        });
    const auto on_cpu = cpu(a, b, c);
    const std::string what = "a " + text(a.shape());
    for (int path = 0; path < 2; ++path) {
      const auto got = path == 0 ? run_poisoned(gpu, on_cpu, nullptr, da, db, dc)
                                 : call_fresh(gpu, nullptr, da, db, dc);
      CT_CHECK_REPORT(compare(std::get<0>(got), atb, gemm_tol(m), what + " a^T b"));
      CT_CHECK_REPORT(compare(std::get<1>(got), act, gemm_tol(n), what + " a c^T"));
    }
    CT_CHECK_REPORT(compare(std::get<0>(on_cpu), atb, gemm_tol(m), what + " cpu a^T b"));
  }
  sync_ok();
}

TEST_CASE("matmul in double precision", "[models][matmul]") {
  auto cpu = loom::compile(matmul_fn,
                           loom::input<double, extents<dyn, dyn>>{},
                           loom::input<double, extents<dyn, dyn>>{});
  auto gpu = loom::cuda::to_cuda(cpu);
  check_2d_products<double>(
      cpu, gpu, {{17, 23, 11}, {130, 257, 70}, {1, 1000, 3}}, 600, eps_d, "f64 ");
  sync_ok();
}

TEST_CASE("MLP layers: relu(x w + b) and softmax(x w + b)", "[models][mlp]") {
  auto cpu_relu = loom::compile(mlp_relu_fn, mat_input{}, mat_input{}, vec_input{});
  auto gpu_relu = loom::cuda::to_cuda(cpu_relu);
  auto cpu_soft = loom::compile(mlp_softmax_fn, mat_input{}, mat_input{}, vec_input{});
  auto gpu_soft = loom::cuda::to_cuda(cpu_soft);
  const std::size_t shapes[][3] = {{1, 64, 64},
                                   {3, 64, 64},
                                   {300, 64, 64},
                                   {1000, 64, 64},
                                   {100, 1000, 257},
                                   {33, 130, 1},
                                   {8, 64, 3000}};
  std::uint32_t seed = 700;
  for (const auto& [rows, in, out] : shapes) {
    const mat x = uniform_tensor<float, extents<dyn, dyn>>(make_shape({rows, in}), seed++, -1, 1);
    const mat w =
        uniform_tensor<float, extents<dyn, dyn>>(make_shape({in, out}), seed++, -0.5, 0.5);
    const vec b = uniform_tensor<float>(make_shape({out}), seed++, -0.5, 0.5);
    const auto dx = upload(x);
    const auto dw = upload(w);
    const auto db = upload(b);
    const std::string what = text(x.shape()) + " x " + text(w.shape());
    const tolerance tol = gemm_tol(in);

    reference logits = product_reference(make_shape({rows, out}), in, reader(x), reader(w));
    for (std::size_t i = 0; i < logits.value.size(); ++i) {
      logits.value[i] += b(i % out);
      logits.scale[i] += std::abs(double(b(i % out))) + 1;
    }
    reference relu = logits;
    for (double& v : relu.value) v = std::max(v, 0.0);
    check_single(cpu_relu(x, w, b), gpu_relu, relu, tol, "relu layer " + what, dx, dw, db);

    // softmax of the logits: an absolute error e in each logit is a relative error of about
    // 2 max(e) in each probability, on top of softmax's own.
    reference soft{logits.shape, logits.value, std::vector<double>(logits.value.size())};
    for (std::size_t r = 0; r < rows; ++r) {
      double top = -INFINITY, sum = 0, worst = 0;
      for (std::size_t j = 0; j < out; ++j) {
        top = std::max(top, logits.value[r * out + j]);
        worst = std::max(worst, tol.abs + tol.rel * logits.scale[r * out + j]);
      }
      for (std::size_t j = 0; j < out; ++j) sum += std::exp(logits.value[r * out + j] - top);
      for (std::size_t j = 0; j < out; ++j) {
        double& p = soft.value[r * out + j];
        p = std::exp(p - top) / sum;
        soft.scale[r * out + j] = p * (3 * worst + softmax_tol.rel);
      }
    }
    check_single(
        cpu_soft(x, w, b), gpu_soft, soft, {1, 1e-30}, "softmax layer " + what, dx, dw, db);
  }
  sync_ok();
}

TEST_CASE("an attention block: GEMMs, transposed keys, softmax, residual, layer_norm",
          "[models][attention]") {
  auto cpu = compile_attention();
  auto gpu = loom::cuda::to_cuda(cpu);
  STATIC_REQUIRE(decltype(gpu)::kernel_count == 5);
  std::uint32_t seed = 800;
  for (std::size_t n : {std::size_t(1), std::size_t(100), std::size_t(257)}) {
    const attention_inputs in(n, seed);
    const auto [dx, dq, dk, dv, dg, db] = in.on_device();
    // Normalised outputs of magnitude about 1; the example checks 1e-4 absolute.
    check_single(in.on_cpu(cpu),
                 gpu,
                 in.expected(),
                 {1e-4, 1e-4},
                 "attention, " + std::to_string(n) + " tokens",
                 dx,
                 dq,
                 dk,
                 dv,
                 dg,
                 db);
  }
  sync_ok();
}

TEST_CASE("a whole-tensor F runs its own kernel once per run, on loom's stream, on complete values",
          "[models][calls]") {
  call_record rec;
  lc::device_tensor<float, extents<dyn>> seen(make_shape({1 << 20}));
  rec.seen = seen.data();
  rec.capacity = seen.size();
  call_record* r = &rec;
  const auto model = [r](auto x) {
    auto s = loom::allow_in_graph<row_sums>{{r}}(loom::exp(x) + 1.f);
    return std::make_tuple(s * 3.f, s + 1.f, x * 2.f);
  };
  auto cpu = loom::compile(model, mat_input{});
  auto gpu = loom::cuda::to_cuda(cpu);
  std::uint32_t seed = 900;
  for (const loom::shape& s : {make_shape({70, 300}), make_shape({1000, 17}), make_shape({5, 1})}) {
    const std::size_t rows = s.dims[0], cols = s.dims[1];
    const mat x = uniform_tensor<float, extents<dyn, dyn>>(s, seed++, -1, 1);
    const auto dx = upload(x);
    rec.host_calls = rec.device_calls = 0;
    const auto on_cpu = cpu(x);
    CHECK(rec.host_calls == 1);
    CHECK(rec.device_calls == 0);

    // F's input, exp(x) + 1, and the row sums in double.
    const reference input =
        reference_of(s, [&](std::size_t i) { return std::exp(double(x.data()[i])) + 1; });
    std::vector<double> sums(rows, 0.0);
    for (std::size_t i = 0; i < x.size(); ++i) sums[i / cols] += input.value[i];
    // A sequential sum of `cols` positive terms, each a few ulps off: (cols + 4) u relative.
    const tolerance sum_tol{(double(cols) + 8) * u_f, 0};
    const reference tripled =
        reference_of(make_shape({rows}), [&](std::size_t i) { return 3 * sums[i]; });
    const reference plus_one =
        reference_of(make_shape({rows}), [&](std::size_t i) { return sums[i] + 1; });
    const reference doubled = reference_of(s, [&](std::size_t i) { return 2.0 * x.data()[i]; });

    const auto into = run_poisoned(gpu, on_cpu, nullptr, dx);
    CHECK(rec.device_calls == 1);
    CHECK(rec.host_calls == 1);
    CHECK(rec.stream == nullptr);
    CHECK(rec.seen_size == x.size());
    vec seen_host = lc::to_host(
        lc::device_view<const float, extents<dyn>>(seen.data(), make_shape({x.size()})));
    CT_CHECK_REPORT(compare(seen_host,
                            reference{make_shape({x.size()}), input.value, {}},
                            {4e-6, 0},
                            "F's input exp(x) + 1 " + text(s)));
    const std::string what = "whole-tensor F " + text(s);
    CT_CHECK_REPORT(compare(std::get<0>(into), tripled, sum_tol, what + " sums * 3"));
    CT_CHECK_REPORT(compare(std::get<1>(into), plus_one, sum_tol, what + " sums + 1"));
    CT_CHECK_REPORT(compare(std::get<2>(into), doubled, {}, what + " x * 2"));
    CT_CHECK_REPORT(compare(std::get<0>(into), std::get<0>(on_cpu), sum_tol, what + " vs cpu"));

    // Once more per run, on the stream given.
    const auto fresh = call_fresh(gpu, nullptr, dx);
    CHECK(rec.device_calls == 2);
    CT_CHECK_REPORT(compare(std::get<0>(fresh), tripled, sum_tol, what + " operator()"));
    {
      scoped_stream stream;
      const auto dxs = upload(x, stream);
      const auto on_stream = call_fresh(gpu, stream, dxs);
      CHECK(rec.device_calls == 3);
      CHECK(rec.stream == stream.s);
      CT_CHECK_REPORT(compare(std::get<0>(on_stream), tripled, sum_tol, what + " created stream"));
    }
    CHECK(rec.host_calls == 1);
  }
  sync_ok();
}

TEST_CASE("hooks: a device callback in stream order and a host callback see the stored values",
          "[models][hooks]") {
  hook_record dev, host;
  lc::device_tensor<float, extents<dyn>> dst(make_shape({1 << 20}));
  dev.dst = dst.data();
  dev.capacity = dst.size();
  hook_record* rd = &dev;
  hook_record* rh = &host;
  const auto model = [rd, rh](auto x) {
    auto a = loom::hook(loom::relu(x), device_recorder{rd});
    auto c = loom::hook(loom::sum(a * 2.f, loom::axes<1>, loom::keepdims), host_recorder{rh});
    return a * 2.f + c;
  };
  auto cpu = loom::compile(model, mat_input{});
  auto gpu = loom::cuda::to_cuda(cpu);
  std::uint32_t seed = 1000;
  for (const loom::shape& s : {make_shape({40, 300}), make_shape({3, 5000}), make_shape({1, 1})}) {
    const std::size_t rows = s.dims[0], cols = s.dims[1];
    const mat x = uniform_tensor<float, extents<dyn, dyn>>(s, seed++, -1, 1);
    const auto dx = upload(x);
    dev = hook_record{0, 0, nullptr, dst.data(), dst.size()};
    host = hook_record{};
    const mat on_cpu = cpu(x);
    CHECK(dev.host_calls == 1);  // the CPU backend calls the host overload
    CHECK(host.host_calls == 1);

    std::vector<double> row_sum(rows, 0.0);
    for (std::size_t i = 0; i < x.size(); ++i)
      row_sum[i / cols] += 2 * std::max(double(x.data()[i]), 0.0);
    const reference relu =
        reference_of(s, [&](std::size_t i) { return std::max(double(x.data()[i]), 0.0); });
    // Sums of `cols` non-negative terms: cols u relative, in any order.
    const tolerance sum_tol{double(cols) * u_f + 2 * u_f, 1e-30};
    reference result =
        reference_of(s, [&](std::size_t i) { return 2 * relu.value[i] + row_sum[i / cols]; });
    result.scale.resize(x.size());
    for (std::size_t i = 0; i < x.size(); ++i)
      result.scale[i] = 2 * relu.value[i] + row_sum[i / cols];

    dev = hook_record{0, 0, nullptr, dst.data(), dst.size()};
    host = hook_record{};
    const mat got = run_poisoned(gpu, on_cpu, nullptr, dx);
    CHECK(dev.device_calls == 1);
    CHECK(dev.host_calls == 0);
    CHECK(dev.stream == nullptr);
    CHECK(dev.size == x.size());
    CHECK(host.host_calls == 1);
    const std::string what = "hooks " + text(s);
    vec seen =
        lc::to_host(lc::device_view<const float, extents<dyn>>(dst.data(), make_shape({x.size()})));
    CT_CHECK_REPORT(compare(seen,
                            reference{make_shape({x.size()}), relu.value, {}},
                            {},
                            what + " device callback saw relu(x)"));
    CHECK(host.host_shape == make_shape({rows, 1}));
    vec host_seen(make_shape({host.host_seen.size()}));
    std::copy(host.host_seen.begin(), host.host_seen.end(), host_seen.begin());
    CT_CHECK_REPORT(compare(host_seen,
                            reference{make_shape({rows}), row_sum, row_sum},
                            sum_tol,
                            what + " host callback saw the row sums"));
    CT_CHECK_REPORT(compare(got, result, sum_tol, what + " result"));
    CT_CHECK_REPORT(compare(got, cpu_reference(on_cpu, result), twice(sum_tol), what + " vs cpu"));

    // A second run calls each callback once more; on a created stream, with that stream.
    scoped_stream stream;
    const auto dxs = upload(x, stream);
    const mat again = call_fresh(gpu, stream, dxs);
    CHECK(dev.device_calls == 2);
    CHECK(dev.stream == stream.s);
    CHECK(host.host_calls == 2);
    CT_CHECK_REPORT(compare(again, result, sum_tol, what + " second run, created stream"));
  }
  sync_ok();
}

TEST_CASE("fusion_barrier stores its value, is returned as a result, and changes nothing",
          "[models][fusion]") {
  const auto fused_fn = [](auto x) {
    return loom::exp(x) * 2.f + 1.f;
  };
  const auto split_fn = [](auto x) {
    auto b = loom::fusion_barrier(loom::exp(x) * 2.f);
    return std::make_tuple(b + 1.f, b);
  };
  auto gpu_fused = loom::cuda::compile(fused_fn, vec_input{});
  auto cpu_split = loom::compile(split_fn, vec_input{});
  auto gpu_split = loom::cuda::to_cuda(cpu_split);
  STATIC_REQUIRE(decltype(gpu_fused)::kernel_count == 1);
  STATIC_REQUIRE(decltype(gpu_split)::kernel_count >= 2);
  std::uint32_t seed = 1100;
  for (std::size_t n : {std::size_t(1), std::size_t(1000), std::size_t((1u << 20) + 3)}) {
    const vec x = uniform_tensor<float>(make_shape({n}), seed++, -3, 3);
    const auto dx = upload(x);
    const auto on_cpu = cpu_split(x);
    const auto got = run_poisoned(gpu_split, on_cpu, nullptr, dx);
    const vec fused = call_fresh(gpu_fused, nullptr, dx);
    const std::string what = "barrier n=" + std::to_string(n);
    // exp(x) * 2 is exact after exp, so storing it changes nothing: bitwise equal.
    CT_CHECK_REPORT(compare_exact(std::get<0>(got), fused, what + " vs fused"));
    const reference stored =
        reference_of(x.shape(), [&](std::size_t i) { return 2 * std::exp(double(x(i))); });
    CT_CHECK_REPORT(compare(std::get<1>(got), stored, {4e-6, 0}, what + " stored value"));
    CT_CHECK_REPORT(compare(std::get<1>(got), std::get<1>(on_cpu), {4e-6, 0}, what + " vs cpu"));
    CT_CHECK_REPORT(
        compare(std::get<0>(got), std::get<0>(on_cpu), {4e-6, 0}, what + " result vs cpu"));
  }
  sync_ok();
}

TEST_CASE("capture() records a call into a CUDA graph - launch() replays it on new data",
          "[models][graph]") {
  // The stream outlives the model, whose temporaries are freed in order on it.
  scoped_stream stream;
  auto cpu = loom::compile(mlp_softmax_fn, mat_input{}, mat_input{}, vec_input{});
  auto gpu = loom::cuda::to_cuda(cpu);
  const std::size_t rows = 300, in = 64, out = 1000;
  const mat x1 = uniform_tensor<float, extents<dyn, dyn>>(make_shape({rows, in}), 1200, -1, 1);
  const mat x2 = uniform_tensor<float, extents<dyn, dyn>>(make_shape({rows, in}), 1201, -1, 1);
  const mat w = uniform_tensor<float, extents<dyn, dyn>>(make_shape({in, out}), 1202, -0.5, 0.5);
  const vec b = uniform_tensor<float>(make_shape({out}), 1203, -0.5, 0.5);
  const mat cpu1 = cpu(x1, w, b), cpu2 = cpu(x2, w, b);

  auto dx = upload(x1, stream);
  const auto dw = upload(w, stream);
  const auto db = upload(b, stream);
  // run() on the same stream, for the results the replays must give.
  auto ref = poisoned<float, extents<dyn, dyn>>(make_shape({rows, out}), stream);
  gpu.run(stream, ref, dx, dw, db);
  const mat run1 = lc::to_host(ref, stream);
  lc::copy(x2.view(), dx.view(), stream);
  gpu.run(stream, ref, dx, dw, db);
  const mat run2 = lc::to_host(ref, stream);
  constexpr tolerance tol{1e-5, 1e-9};
  CT_CHECK_REPORT(compare(run1, cpu1, tol, "run x1 vs cpu"));
  CT_CHECK_REPORT(compare(run2, cpu2, tol, "run x2 vs cpu"));

  lc::copy(x1.view(), dx.view(), stream);
  auto result = poisoned<float, extents<dyn, dyn>>(make_shape({rows, out}), stream);
  const auto graph = gpu.capture(stream, result, dx, dw, db);
  std::vector<mat> launched;
  for (int k = 0; k < 3; ++k) {
    // x1, x2, x1 again: each replay reads the input buffer as it is now.
    lc::copy((k == 1 ? x2 : x1).view(), dx.view(), stream);
    poison(result, stream);
    graph.launch(stream);
    launched.push_back(lc::to_host(result, stream));
  }
  CT_CHECK_REPORT(compare(launched[0], run1, tol, "launch 1 (x1) vs run"));
  CT_CHECK_REPORT(compare(launched[1], run2, tol, "launch 2 (x2) vs run"));
  CT_CHECK_REPORT(compare(launched[2], run1, tol, "launch 3 (x1) vs run"));
  CT_CHECK_REPORT(compare_exact(launched[2], launched[0], "launch 3 vs launch 1: bitwise"));
  sync_ok();
}

TEST_CASE("everything on a created non-blocking stream", "[models][stream]") {
  scoped_stream stream;  // outlives the model, whose temporaries are freed in order on it
  auto cpu = compile_attention();
  auto gpu = loom::cuda::to_cuda(cpu);
  std::uint32_t seed = 1300;
  for (std::size_t n : {std::size_t(64), std::size_t(300)}) {
    const attention_inputs in(n, seed);
    const auto on_cpu = in.on_cpu(cpu);
    const reference want = in.expected();
    const auto [dx, dq, dk, dv, dg, db] = in.on_device(stream);
    const std::string what = "created stream, " + std::to_string(n) + " tokens";
    const auto fresh = call_fresh(gpu, stream, dx, dq, dk, dv, dg, db);
    const auto into = run_poisoned(gpu, on_cpu, stream, dx, dq, dk, dv, dg, db);
    CT_CHECK_REPORT(compare(fresh, want, {1e-4, 1e-4}, what + " operator()"));
    CT_CHECK_REPORT(compare(into, want, {1e-4, 1e-4}, what + " run"));
    CT_CHECK_REPORT(compare(into, on_cpu, {1e-4, 1e-4}, what + " vs cpu"));
  }
  sync_ok();
}
