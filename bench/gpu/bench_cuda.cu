// bench_cuda: BENCH.md's workloads W1-W6 on the GPU, at sizes that fill it (2^26 elements for
// W1-W3, 16384x1024 for W4-W5, 512 rows for W6) and at small sizes where launches dominate
// (64x1024 for W4-W5, 8 rows for W6), each beside its peers in one run. W1, W4, W5 and W6 also
// run on bf16 values (workload names ending `_bf16`: storage in bf16, arithmetic in f32, W6's
// GEMM on tensor cores with f32 accumulation). Beside them, two latency-bound models a user
// runs at inference: a 2-layer MLP 1024 -> 4096 -> 1024 with gelu at batch 8 (`MLP2_gelu`,
// f32 and bf16) and the attention block of examples/attention.cpp at 256 tokens of width 64
// (`attention`). Variants:
//   loom_fused    the compiled CUDA model (one generated kernel per fusion group)
//   loom_graph    the same call captured into a CUDA graph and replayed (no launch gaps)
//   loom_eager    the same math op by op: one compiled single-op model per node, into
//                 preallocated temporaries (what eager execution launches)
//   memcpy_limit  a device-to-device copy moving the same bytes (read + write): the
//                 bandwidth limit
//   cublas_only   W6's GEMM alone through cuBLAS (cublasGemmEx, as loom calls it), the
//                 ceiling for the fused MLP layer.
//   loom_host     at the small sizes: the host's time per loom_fused call (binding, shape
//                 checks, workspace, the launches), not the GPU's.
// Timed with CUDA events around batches of calls on one stream; the median of 15 batches.
// Google Benchmark is not used: the GPU machines have no package registry.
// Usage: bench_cuda [--csv FILE]
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <loom/cuda.hpp>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "../../examples/attention_block.hpp"

namespace {

using loom::dyn;
using loom::extents;
using loom::cuda::device_tensor;
using vec = extents<dyn>;
using mat = extents<dyn, 1024>;

cudaStream_t stream = nullptr;

struct row {
  std::string name;
  double median_us;
  double bytes, flops;
};
std::vector<row> rows;

// Median time of one call of `fn`, over batches long enough (>= 2 ms) to hide event cost.
template <class F>
double time_us(F&& fn) {
  cudaEvent_t start, stop;
  loom::cuda::check(cudaEventCreate(&start), "cudaEventCreate");
  loom::cuda::check(cudaEventCreate(&stop), "cudaEventCreate");
  auto batch = [&](int calls) {
    loom::cuda::check(cudaEventRecord(start, stream), "cudaEventRecord");
    for (int i = 0; i < calls; ++i) fn();
    loom::cuda::check(cudaEventRecord(stop, stream), "cudaEventRecord");
    loom::cuda::check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    loom::cuda::check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    return double(ms) * 1000 / calls;
  };
  batch(3);
  const double one = batch(1);
  const int calls = std::clamp(int(2000 / std::max(one, 1.0)), 1, 500);
  std::vector<double> samples;
  for (int s = 0; s < 15; ++s) samples.push_back(batch(calls));
  std::sort(samples.begin(), samples.end());
  (void)cudaEventDestroy(start);
  (void)cudaEventDestroy(stop);
  return samples[samples.size() / 2];
}

template <class F>
void record(const std::string& name, double bytes, double flops, F&& fn) {
  const double us = time_us(fn);
  rows.push_back({name, us, bytes, flops});
  if (flops > 0)
    std::printf("%-44s %10.1f us %9.1f TFLOP/s\n", name.c_str(), us, flops / us * 1e-6);
  else
    std::printf("%-44s %10.1f us %9.1f GB/s\n", name.c_str(), us, bytes / us * 1e-3);
  std::fflush(stdout);
}

// The host's time per call of `fn`: a batch of calls timed on the host clock before the
// stream is synchronised, the median of 15 batches. Where the GPU finishes each call sooner
// than the host enqueues the next, this is the time per call the model can sustain.
template <class F>
void record_host(const std::string& name, F&& fn) {
  std::vector<double> samples;
  for (int s = 0; s < 16; ++s) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 100; ++i) fn();
    const auto stop = std::chrono::steady_clock::now();
    loom::cuda::check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    if (s > 0)
      samples.push_back(std::chrono::duration<double, std::micro>(stop - start).count() / 100);
  }
  std::sort(samples.begin(), samples.end());
  const double us = samples[samples.size() / 2];
  rows.push_back({name, us, 0, 0});
  std::printf("%-44s %10.1f us on the host per call\n", name.c_str(), us);
  std::fflush(stdout);
}

// A copy of `bytes` bytes in total (half read, half written), device to device.
void memcpy_limit(const std::string& workload, const std::string& size, double bytes) {
  const std::size_t half = std::size_t(bytes / 2);
  void *from = nullptr, *to = nullptr;
  loom::cuda::check(cudaMalloc(&from, half), "cudaMalloc");
  loom::cuda::check(cudaMalloc(&to, half), "cudaMalloc");
  record(workload + "/memcpy_limit/" + size, bytes, 0, [&] {
    loom::cuda::check(cudaMemcpyAsync(to, from, half, cudaMemcpyDeviceToDevice, stream),
                      "cudaMemcpyAsync");
  });
  (void)cudaFree(from);
  (void)cudaFree(to);
}

template <class T, class E>
device_tensor<T, E> random_device(const loom::shape& s, float lo, float hi, unsigned seed) {
  loom::tensor<T, E> h(s);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (auto& v : h) v = T(d(gen));
  return loom::cuda::to_device(h, stream);
}

// A workload's name for values of dtype T: f32 plain, bf16 with `_bf16`.
template <class T>
std::string named(const char* workload) {
  return std::is_same_v<T, float> ? workload : std::string(workload) + "_bf16";
}

// The largest difference between two device results, as a sanity check of each variant.
template <class A, class B>
double worst_difference(const A& a, const B& b) {
  const auto ha = loom::cuda::to_host(a, stream), hb = loom::cuda::to_host(b, stream);
  double worst = 0;
  for (std::size_t i = 0; i < ha.size(); ++i)
    worst = std::max(worst, std::abs(double(ha.data()[i]) - double(hb.data()[i])));
  return worst;
}

void report_agreement(const std::string& workload, double worst) {
  std::printf("%-44s fused vs eager: max |difference| %.3g\n", workload.c_str(), worst);
}

// A single-op model on values of dtype T, for the eager variants.
template <class T, class F, class... E>
auto op(F f, E...) {
  return loom::cuda::compile(f, loom::input<T, E>{}...);
}

// loom's fused rows of a workload: the compiled model's GPU time per call, the host's time
// per call where `host` (the small sizes), and the same call captured into a CUDA graph.
template <class Model, class Out, class... In>
void record_loom(const std::string& name,
                 const std::string& size,
                 double bytes,
                 double flops,
                 bool host,
                 const Model& fused,
                 Out& out,
                 const In&... in) {
  record(name + "/loom_fused/" + size, bytes, flops, [&] { fused.run(stream, out, in...); });
  if (host) record_host(name + "/loom_host/" + size, [&] { fused.run(stream, out, in...); });
  const auto graph = fused.capture(stream, out, in...);
  record(name + "/loom_graph/" + size, bytes, flops, [&] { graph.launch(stream); });
}

template <class T>
void w1_relu_chain() {
  const std::size_t n = std::size_t(1) << 26;
  const std::string size = std::to_string(n), name = named<T>("W1_relu_chain");
  auto x = random_device<T, vec>(loom::shape{1, {n}}, -1, 1, 1);
  device_tensor<T, vec> out(loom::shape{1, {n}}, stream), t1(loom::shape{1, {n}}, stream),
      t2(loom::shape{1, {n}}, stream), e(loom::shape{1, {n}}, stream);
  auto fused =
      loom::cuda::compile([](auto v) { return loom::relu(v) * 2.f + 10.f; }, loom::input<T, vec>{});
  auto relu = op<T>([](auto v) { return loom::relu(v); }, vec{});
  auto twice = op<T>([](auto v) { return v * 2.f; }, vec{});
  auto plus = op<T>([](auto v) { return v + 10.f; }, vec{});
  auto eager = [&] {
    relu.run(stream, t1, x);
    twice.run(stream, t2, t1);
    plus.run(stream, e, t2);
  };
  const double bytes = 2.0 * sizeof(T) * n;
  record_loom(name, size, bytes, 0, false, fused, out, x);
  record(name + "/loom_eager/" + size, bytes, 0, eager);
  memcpy_limit(name, size, bytes);
  report_agreement(name, worst_difference(out, e));
}

void w2_activation_mix() {
  const std::size_t n = std::size_t(1) << 26;
  const std::string size = std::to_string(n);
  const loom::shape s{1, {n}};
  auto a = random_device<float, vec>(s, -2, 2, 1), b = random_device<float, vec>(s, -2, 2, 2),
       c = random_device<float, vec>(s, -2, 2, 3);
  device_tensor<float, vec> out(s, stream), e(s, stream);
  std::vector<device_tensor<float, vec>> t;
  for (int i = 0; i < 9; ++i) t.emplace_back(s, stream);
  auto fused = loom::cuda::compile(
      [](auto a, auto b, auto c) {
        return loom::tanh(a * b + c) * loom::sigmoid(a - c) + 0.5f * loom::exp(-b * b);
      },
      loom::input<float, vec>{},
      loom::input<float, vec>{},
      loom::input<float, vec>{});
  auto mul = op<float>([](auto p, auto q) { return p * q; }, vec{}, vec{});
  auto add = op<float>([](auto p, auto q) { return p + q; }, vec{}, vec{});
  auto sub = op<float>([](auto p, auto q) { return p - q; }, vec{}, vec{});
  auto tanh = op<float>([](auto p) { return loom::tanh(p); }, vec{});
  auto sigmoid = op<float>([](auto p) { return loom::sigmoid(p); }, vec{});
  auto neg = op<float>([](auto p) { return -p; }, vec{});
  auto exp = op<float>([](auto p) { return loom::exp(p); }, vec{});
  auto half = op<float>([](auto p) { return 0.5f * p; }, vec{});
  auto eager = [&] {
    mul.run(stream, t[0], a, b);     // a*b
    add.run(stream, t[1], t[0], c);  // a*b + c
    tanh.run(stream, t[2], t[1]);
    sub.run(stream, t[3], a, c);
    sigmoid.run(stream, t[4], t[3]);
    mul.run(stream, t[5], t[2], t[4]);
    neg.run(stream, t[6], b);
    mul.run(stream, t[7], t[6], b);
    exp.run(stream, t[8], t[7]);
    half.run(stream, t[6], t[8]);
    add.run(stream, e, t[5], t[6]);
  };
  const double bytes = 4.0 * 4 * n;
  record_loom("W2_activation_mix", size, bytes, 0, false, fused, out, a, b, c);
  record("W2_activation_mix/loom_eager/" + size, bytes, 0, eager);
  memcpy_limit("W2_activation_mix", size, bytes);
  report_agreement("W2_activation_mix", worst_difference(out, e));
}

// The seed model's black box: loom never traces into it; on the GPU it is called per
// element inside the fused kernel.
struct custom_hook_function {
  __host__ __device__ float operator()(float x) const {
    float r = x * 2;
    r += 10;
    return r;
  }
};

void w3_seed_allow_in_graph() {
  const std::size_t n = std::size_t(1) << 26;
  const std::string size = std::to_string(n);
  const loom::shape s{1, {n}};
  auto x = random_device<float, vec>(s, -1, 1, 1);
  device_tensor<float, vec> out(s, stream), t(s, stream), e(s, stream);
  auto fused = loom::cuda::compile(
      [](auto v) { return loom::allow_in_graph<custom_hook_function>{}(loom::relu(v)); },
      loom::input<float, vec>{});
  auto relu = op<float>([](auto v) { return loom::relu(v); }, vec{});
  auto hook =
      op<float>([](auto v) { return loom::allow_in_graph<custom_hook_function>{}(v); }, vec{});
  const double bytes = 2.0 * 4 * n;
  record_loom("W3_seed_allow_in_graph", size, bytes, 0, false, fused, out, x);
  record("W3_seed_allow_in_graph/loom_eager/" + size, bytes, 0, [&] {
    relu.run(stream, t, x);
    hook.run(stream, e, t);
  });
  memcpy_limit("W3_seed_allow_in_graph", size, bytes);
  report_agreement("W3_seed_allow_in_graph", worst_difference(out, e));
}

constexpr std::size_t big_rows = 16384, small_rows = 64, cols = 1024;
using column = extents<dyn, 1>;
using line = extents<1024>;

template <class T>
void w4_softmax(std::size_t rows) {
  const std::string size = std::to_string(rows) + "x" + std::to_string(cols);
  const std::string name = named<T>("W4_softmax");
  const loom::shape s{2, {rows, cols}}, r{2, {rows, 1}};
  auto x = random_device<T, mat>(s, -4, 4, 1);
  device_tensor<T, mat> out(s, stream), t1(s, stream), t2(s, stream), e(s, stream);
  device_tensor<T, column> m(r, stream), total(r, stream);
  auto fused = loom::cuda::compile([](auto v) { return loom::softmax(v); }, loom::input<T, mat>{});
  auto max = op<T>([](auto v) { return loom::max(v, loom::axes<1>, loom::keepdims); }, mat{});
  auto sub = op<T>([](auto v, auto w) { return v - w; }, mat{}, column{});
  auto exp = op<T>([](auto v) { return loom::exp(v); }, mat{});
  auto sum = op<T>([](auto v) { return loom::sum(v, loom::axes<1>, loom::keepdims); }, mat{});
  auto div = op<T>([](auto v, auto w) { return v / w; }, mat{}, column{});
  const double bytes = 2.0 * sizeof(T) * rows * cols;
  record_loom(name, size, bytes, 0, rows == small_rows, fused, out, x);
  record(name + "/loom_eager/" + size, bytes, 0, [&] {
    max.run(stream, m, x);
    sub.run(stream, t1, x, m);
    exp.run(stream, t2, t1);
    sum.run(stream, total, t2);
    div.run(stream, e, t2, total);
  });
  memcpy_limit(name, size, bytes);
  report_agreement(name, worst_difference(out, e));
}

template <class T>
void w5_layer_norm(std::size_t rows) {
  const std::string size = std::to_string(rows) + "x" + std::to_string(cols);
  const std::string name = named<T>("W5_layer_norm");
  const loom::shape s{2, {rows, cols}}, r{2, {rows, 1}}, l{1, {cols}};
  auto x = random_device<T, mat>(s, -4, 4, 1);
  auto gamma = random_device<T, line>(l, 0.5f, 1.5f, 2);
  auto beta = random_device<T, line>(l, -1, 1, 3);
  device_tensor<T, mat> out(s, stream), t1(s, stream), t2(s, stream), e(s, stream);
  device_tensor<T, column> mean(r, stream), var(r, stream), rstd(r, stream);
  auto fused =
      loom::cuda::compile([](auto v, auto g, auto b) { return loom::layer_norm(v, g, b, 1e-5); },
                          loom::input<T, mat>{},
                          loom::input<T, line>{},
                          loom::input<T, line>{});
  auto mean_of = op<T>([](auto v) { return loom::mean(v, loom::axes<1>, loom::keepdims); }, mat{});
  auto sub = op<T>([](auto v, auto w) { return v - w; }, mat{}, column{});
  auto square = op<T>([](auto v) { return loom::square(v); }, mat{});
  auto rsqrt = op<T>([](auto v) { return loom::rsqrt(v + 1e-5f); }, column{});
  auto mul_col = op<T>([](auto v, auto w) { return v * w; }, mat{}, column{});
  auto mul_line = op<T>([](auto v, auto w) { return v * w; }, mat{}, line{});
  auto add_line = op<T>([](auto v, auto w) { return v + w; }, mat{}, line{});
  const double bytes = (2.0 * rows * cols + 2.0 * cols) * sizeof(T);
  record_loom(name, size, bytes, 0, rows == small_rows, fused, out, x, gamma, beta);
  record(name + "/loom_eager/" + size, bytes, 0, [&] {
    mean_of.run(stream, mean, x);
    sub.run(stream, t1, x, mean);
    square.run(stream, t2, t1);
    mean_of.run(stream, var, t2);
    rsqrt.run(stream, rstd, var);
    mul_col.run(stream, t2, t1, rstd);
    mul_line.run(stream, t1, t2, gamma);
    add_line.run(stream, e, t1, beta);
  });
  memcpy_limit(name, size, bytes);
  report_agreement(name, worst_difference(out, e));
}

template <class T>
void w6_mlp_layer(std::size_t m) {
  constexpr std::size_t k = 1024, n = 1024;
  const std::string size = std::to_string(m) + "x1024x1024", name = named<T>("W6_mlp_layer");
  using in_rows = extents<dyn, k>;
  using weights = extents<k, n>;
  using out_rows = extents<dyn, n>;
  auto x = random_device<T, in_rows>(loom::shape{2, {m, k}}, -1, 1, 1);
  auto w = random_device<T, weights>(loom::shape{2, {k, n}}, -0.03f, 0.03f, 2);
  auto b = random_device<T, line>(loom::shape{1, {n}}, -0.1f, 0.1f, 3);
  const loom::shape s{2, {m, n}};
  device_tensor<T, out_rows> out(s, stream), product(s, stream), t(s, stream), e(s, stream);
  auto fused = loom::cuda::compile(
      [](auto v, auto wt, auto bias) { return loom::relu(loom::matmul(v, wt) + bias); },
      loom::input<T, in_rows>{},
      loom::input<T, weights>{},
      loom::input<T, line>{});
  auto matmul = op<T>([](auto v, auto wt) { return loom::matmul(v, wt); }, in_rows{}, weights{});
  auto add = op<T>([](auto v, auto bias) { return v + bias; }, out_rows{}, line{});
  auto relu = op<T>([](auto v) { return loom::relu(v); }, out_rows{});
  cublasHandle_t h = loom::cuda::blas_handle();
  loom::cuda::check(cublasSetStream(h, stream), "cublasSetStream");
  const float one = 1, zero = 0;  // f32 for both dtypes: the compute type's
  using types = loom::cuda::blas_types<T>;
  const double flops = 2.0 * m * k * n, bytes = double(sizeof(T)) * (m * k + k * n + n + m * n);
  record_loom(name, size, bytes, flops, m < 64, fused, out, x, w, b);
  record(name + "/loom_eager/" + size, bytes, flops, [&] {
    matmul.run(stream, product, x, w);
    add.run(stream, t, product, b);
    relu.run(stream, e, t);
  });
  record(name + "/cublas_only/" + size, bytes, flops, [&] {
    loom::cuda::check(cublasGemmEx(h,
                                   CUBLAS_OP_N,
                                   CUBLAS_OP_N,
                                   int(n),
                                   int(m),
                                   int(k),
                                   &one,
                                   w.data(),
                                   types::storage,
                                   int(n),
                                   x.data(),
                                   types::storage,
                                   int(k),
                                   &zero,
                                   product.data(),
                                   types::storage,
                                   int(n),
                                   types::compute(),
                                   CUBLAS_GEMM_DEFAULT),
                      "cublasGemmEx");
  });
  report_agreement(name, worst_difference(out, e));
}

template <class T>
void mlp2_gelu(std::size_t batch) {
  constexpr std::size_t k = 1024, h = 4096;
  const std::string size = std::to_string(batch) + "x1024x4096x1024";
  using in_rows = extents<dyn, k>;
  auto x = random_device<T, in_rows>(loom::shape{2, {batch, k}}, -1, 1, 1);
  auto w1 = random_device<T, extents<k, h>>(loom::shape{2, {k, h}}, -0.03f, 0.03f, 2);
  auto b1 = random_device<T, extents<h>>(loom::shape{1, {h}}, -0.1f, 0.1f, 3);
  auto w2 = random_device<T, extents<h, k>>(loom::shape{2, {h, k}}, -0.015f, 0.015f, 4);
  auto b2 = random_device<T, extents<k>>(loom::shape{1, {k}}, -0.1f, 0.1f, 5);
  device_tensor<T, in_rows> out(loom::shape{2, {batch, k}}, stream);
  auto fused = loom::cuda::compile(
      [](auto v, auto a, auto c, auto b, auto e) {
        return loom::matmul(loom::gelu(loom::matmul(v, a) + c), b) + e;
      },
      loom::input<T, in_rows>{},
      loom::input<T, extents<k, h>>{},
      loom::input<T, extents<h>>{},
      loom::input<T, extents<h, k>>{},
      loom::input<T, extents<k>>{});
  const double flops = 4.0 * batch * k * h;
  const double bytes = double(sizeof(T)) * (2 * batch * k + 2 * k * h + h + k);
  record_loom(named<T>("MLP2_gelu"), size, bytes, flops, true, fused, out, x, w1, b1, w2, b2);
}

void attention(std::size_t tokens) {
  constexpr std::size_t d = 64;
  const std::string size = std::to_string(tokens) + "x" + std::to_string(d);
  using rows = extents<dyn, d>;
  auto x = random_device<float, rows>(loom::shape{2, {tokens, d}}, -1, 1, 1);
  auto wq = random_device<float, extents<d, d>>(loom::shape{2, {d, d}}, -0.2f, 0.2f, 2);
  auto wk = random_device<float, extents<d, d>>(loom::shape{2, {d, d}}, -0.2f, 0.2f, 3);
  auto wv = random_device<float, extents<d, d>>(loom::shape{2, {d, d}}, -0.2f, 0.2f, 4);
  auto gamma = random_device<float, extents<d>>(loom::shape{1, {d}}, 0.5f, 1.5f, 5);
  auto beta = random_device<float, extents<d>>(loom::shape{1, {d}}, -0.5f, 0.5f, 6);
  device_tensor<float, rows> out(loom::shape{2, {tokens, d}}, stream);
  auto fused = loom::cuda::compile(example::attention_block(d),
                                   loom::input<float, rows>{},
                                   loom::input<float, extents<d, d>>{},
                                   loom::input<float, extents<d, d>>{},
                                   loom::input<float, extents<d, d>>{},
                                   loom::input<float, extents<d>>{},
                                   loom::input<float, extents<d>>{});
  // Three projections, the scores and their product with v.
  const double flops = 2.0 * tokens * d * d * 3 + 2.0 * 2 * tokens * tokens * d;
  const double bytes = 4.0 * (2 * tokens * d + 3 * d * d + 2 * d);
  record_loom("attention", size, bytes, flops, true, fused, out, x, wq, wk, wv, gamma, beta);
}

}  // namespace

int main(int argc, char** argv) {
  const char* csv = nullptr;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--csv") == 0) csv = argv[i + 1];
  try {
    loom::cuda::require_device();
    cudaDeviceProp prop{};
    loom::cuda::check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
    std::printf("device: %s, %d multiprocessors\n", prop.name, prop.multiProcessorCount);
    loom::cuda::check(cudaStreamCreate(&stream), "cudaStreamCreate");
    w1_relu_chain<float>();
    w2_activation_mix();
    w3_seed_allow_in_graph();
    for (std::size_t rows : {big_rows, small_rows}) {
      w4_softmax<float>(rows);
      w5_layer_norm<float>(rows);
    }
    w6_mlp_layer<float>(512);
    w6_mlp_layer<float>(8);
    w1_relu_chain<loom::bf16>();
    for (std::size_t rows : {big_rows, small_rows}) {
      w4_softmax<loom::bf16>(rows);
      w5_layer_norm<loom::bf16>(rows);
    }
    w6_mlp_layer<loom::bf16>(512);
    w6_mlp_layer<loom::bf16>(8);
    mlp2_gelu<float>(8);
    mlp2_gelu<loom::bf16>(8);
    attention(256);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda: %s\n", e.what());
    return 1;
  }
  if (csv) {
    std::ofstream f(csv);
    f << "name,median_us,bytes,flops\n";
    for (const auto& r : rows)
      f << r.name << ',' << r.median_us << ',' << r.bytes << ',' << r.flops << '\n';
  }
}
