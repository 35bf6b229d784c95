// The code of docs/guide.md's section on the GPU. As in tests/unit/docs_*_test.cpp, each
// region between `// [snippet:NAME]` and `// [/snippet:NAME]` appears verbatim in a code
// block of the guide that starts with `// snippet: NAME`; docs_snippets_in_sync keeps them
// identical. The CHECKs outside the regions hold the values the guide promises, against the
// CPU backend and double-precision references.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <loom/cuda.hpp>
#include <random>

namespace {

template <class T>
void fill(T& t, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  for (auto& v : t) v = d(gen);
}

template <class A, class B>
double worst_difference(const A& a, const B& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(double(a.data()[i]) - double(b.data()[i])));
  return worst;
}

}  // namespace

// [snippet:cuda_copy_kernel]
// A whole-tensor F with a GPU form: it enqueues its own kernel on loom's stream.
__global__ void reverse_kernel(const float* in, float* out, std::size_t n) {
  const std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = in[n - 1 - i];
}

struct reverse {
  using granularity = loom::whole_tensor;
  // The CPU form, for loom::compile.
  void operator()(loom::tensor_view<const float> in, loom::tensor_view<float> out) const {
    for (std::size_t i = 0; i < in.size(); ++i) out.data()[i] = in.data()[in.size() - 1 - i];
  }
  // The GPU form, for loom::cuda::compile: device views, then the stream to enqueue on.
  void operator()(loom::cuda::device_view<const float> in,
                  loom::cuda::device_view<float> out,
                  cudaStream_t stream) const {
    const std::size_t n = in.size();
    if (n != 0)
      reverse_kernel<<<unsigned((n + 255) / 256), 256, 0, stream>>>(in.data(), out.data(), n);
  }
};
// [/snippet:cuda_copy_kernel]

// The guide's model on `stream`. Its device tensors free in the stream's order when they go
// out of scope, so the stream outlives this function.
static void model_on(cudaStream_t stream) {
  using loom::dyn;
  using loom::extents;
  loom::tensor<float, extents<dyn, 64>> x(100);
  loom::tensor<float, extents<64, 32>> w;
  loom::tensor<float, extents<32>> b;
  fill(x, 1);
  fill(w, 2);
  fill(b, 3);
  // [snippet:cuda_model]
  auto layer = [](auto x, auto w, auto b) {
    return loom::softmax(loom::matmul(x, w) + b);
  };
  auto gpu = loom::cuda::compile(layer,
                                 loom::input<float, extents<dyn, 64>>{},
                                 loom::input<float, extents<64, 32>>{},
                                 loom::input<float, extents<32>>{});

  auto dx = loom::cuda::to_device(x, stream);  // host tensors to the device
  auto dw = loom::cuda::to_device(w, stream);
  auto db = loom::cuda::to_device(b, stream);
  auto dy = gpu(stream, dx, dw, db);         // enqueued: one GEMM, one kernel
  auto y = loom::cuda::to_host(dy, stream);  // waits for the stream
  // [/snippet:cuda_model]
  static_assert(decltype(gpu)::kernel_count == 1);
  const auto expected = loom::compile(layer,
                                      loom::input<float, extents<dyn, 64>>{},
                                      loom::input<float, extents<64, 32>>{},
                                      loom::input<float, extents<32>>{})(x, w, b);
  CHECK(worst_difference(y, expected) < 1e-6);
  for (std::size_t r = 0; r < 100; ++r) {
    double logits[32], top = -1e300, total = 0;
    for (std::size_t c = 0; c < 32; ++c) {
      logits[c] = b(c);
      for (std::size_t k = 0; k < 64; ++k) logits[c] += double(x(r, k)) * w(k, c);
      top = std::max(top, logits[c]);
    }
    for (double l : logits) total += std::exp(l - top);
    for (std::size_t c = 0; c < 32; ++c)
      CHECK(std::abs(y(r, c) - std::exp(logits[c] - top) / total) < 1e-5);
  }

  // [snippet:cuda_run_and_capture]
  // Into buffers of your own, as many times as you like:
  loom::cuda::device_tensor<float, extents<dyn, 32>> out(loom::shape{2, {100, 32}}, stream);
  gpu.run(stream, out, dx, dw, db);

  // Or recorded once into a CUDA graph and replayed with one launch per call:
  auto graph = gpu.capture(stream, out, dx, dw, db);
  for (int step = 0; step < 3; ++step) graph.launch(stream);
  // [/snippet:cuda_run_and_capture]
  CHECK(worst_difference(loom::cuda::to_host(out, stream), expected) < 1e-6);
}

// [snippet:cuda_training_step]
using loom::extents;
struct least_squares {  // a named class: nvcc rejects lambda closure types in kernel arguments
  template <class X, class Y, class W, class B>
  auto operator()(const X& x, const Y& y, const W& w, const B& b) const {
    return loom::mse_loss(loom::matmul(x, w) + b, y);
  }
};

void train_on_gpu(cudaStream_t stream,  // a created stream, which a capture needs
                  const loom::cuda::device_tensor<float, extents<100, 64>>& dx,
                  const loom::cuda::device_tensor<float, extents<100, 32>>& dy,
                  loom::cuda::device_tensor<float, extents<64, 32>>& dw,
                  loom::cuda::device_tensor<float, extents<32>>& db) {
  loom::sgd optimizer({.lr = 0.1}, dw, db);  // device parameters
  optimizer.set_stream(stream);
  auto train = loom::compile_training_step(least_squares{},
                                           optimizer,
                                           loom::input<float, extents<100, 64>>{},
                                           loom::input<float, extents<100, 32>>{});
  loom::cuda::device_tensor<float, extents<>> loss(loom::shape{}, stream);
  auto step = train.capture(loss, dx, dy);    // records forward, backward and update
  for (int i = 0; i < 3; ++i) step.launch();  // a step each: its scalars, then the graph
}
// [/snippet:cuda_training_step]

TEST_CASE("docs: a training step captured on the GPU", "[docs][cuda]") {
  loom::tensor<float, extents<100, 64>> x;
  loom::tensor<float, extents<100, 32>> y;
  loom::tensor<float, extents<64, 32>> w;
  loom::tensor<float, extents<32>> b;
  fill(x, 5);
  fill(y, 6);
  fill(w, 7);
  fill(b, 8);
  cudaStream_t stream;
  REQUIRE(cudaStreamCreate(&stream) == cudaSuccess);
  {
    auto dx = loom::cuda::to_device(x, stream);
    auto dy = loom::cuda::to_device(y, stream);
    auto dw = loom::cuda::to_device(w, stream);
    auto db = loom::cuda::to_device(b, stream);
    train_on_gpu(stream, dx, dy, dw, db);
    // The same three steps on the CPU.
    loom::sgd optimizer({.lr = 0.1}, w, b);
    auto train = loom::compile_training_step(least_squares{}, optimizer, x, y);
    for (int i = 0; i < 3; ++i) train(x, y);
    CHECK(worst_difference(loom::cuda::to_host(dw, stream), w) < 1e-5);
    CHECK(worst_difference(loom::cuda::to_host(db, stream), b) < 1e-5);
  }
  cudaStreamDestroy(stream);
}

TEST_CASE("docs: a model on the GPU", "[docs][cuda]") {
  cudaStream_t stream;
  REQUIRE(cudaStreamCreate(&stream) == cudaSuccess);
  model_on(stream);
  cudaStreamDestroy(stream);
}

TEST_CASE("docs: a whole-tensor F on the GPU", "[docs][cuda]") {
  using loom::dyn;
  using loom::extents;
  loom::tensor<float> x(1000);
  fill(x, 4);
  auto model = [](auto v) {
    return loom::allow_in_graph<reverse>{}(loom::exp(v)) * 2.f;
  };
  auto gpu = loom::cuda::compile(model, loom::input<float, extents<dyn>>{});
  const auto y = loom::cuda::to_host(gpu(nullptr, loom::cuda::to_device(x)));
  for (std::size_t i = 0; i < 1000; ++i)
    CHECK(std::abs(y(i) - 2 * std::exp(double(x(999 - i)))) < 1e-5);
}
