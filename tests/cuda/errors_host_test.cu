// What the CUDA backend says when CUDA fails, on any machine: every failed call becomes a
// loom::cuda_error naming the call and CUDA's own error, and a machine without a GPU (or
// without a driver) gets a plain "no usable CUDA device" error instead of a crash. These
// tests need no GPU: they run in CI, where there is none, and on the GPU machine.
#include <catch2/catch.hpp>
#include <loom/cuda.hpp>
#include <string>
#include <utility>

#include "../common/error_message.hpp"

using loom::dyn;
using loom::extents;

namespace {

template <class F>
std::string cuda_error_of(F&& f) {
  return loom_test::error_message<loom::cuda_error>(std::forward<F>(f), "(no cuda_error)");
}

}  // namespace

TEST_CASE("a failed CUDA or cuBLAS call names the call and the error", "[cuda][errors]") {
  const std::string runtime =
      cuda_error_of([] { loom::cuda::check(cudaErrorInvalidValue, "cudaMemcpyAsync"); });
  CHECK(runtime.find("loom: cudaMemcpyAsync failed: cudaErrorInvalidValue: ") == 0);
  CHECK(runtime.find("invalid argument") != std::string::npos);
  const std::string blas =
      cuda_error_of([] { loom::cuda::check(CUBLAS_STATUS_NOT_INITIALIZED, "cublasSgemm"); });
  CHECK(blas.find("loom: cublasSgemm failed: CUBLAS_STATUS_NOT_INITIALIZED") == 0);
  // cuda_error is a loom::error, so callers can catch the library's failures together.
  CHECK_THROWS_AS(loom::cuda::check(cudaErrorInvalidValue, "x"), loom::error);
}

TEST_CASE("a copy into a null device buffer is refused with the call named", "[cuda][errors]") {
  loom::tensor<float> host(8);
  host.fill(1.f);
  const loom::cuda::device_view<float> nowhere(nullptr, loom::shape{1, {8}});
  const std::string what = cuda_error_of([&] {
    loom::cuda::copy(loom::tensor_view<const float>(host.data(), host.shape()), nowhere, nullptr);
  });
  CHECK(what.find("loom: cudaMemcpyAsync failed: ") == 0);
}

TEST_CASE("without a usable device, models and tensors say so", "[cuda][errors]") {
  if (loom::cuda::device_count() > 0) {
    WARN("this machine has a CUDA device: the no-device messages are not checked here");
    return;
  }
  auto model =
      loom::cuda::compile([](auto x) { return x * 2.f; }, loom::input<float, extents<dyn>>{});
  const std::string tensor = cuda_error_of([] {
    loom::cuda::device_tensor<float> t(loom::shape{1, {4}});
  });
  CHECK(tensor.find("loom: no usable CUDA device") == 0);
  const loom::cuda::device_view<const float> x(nullptr, loom::shape{1, {4}});
  const std::string call = cuda_error_of([&] { (void)model(nullptr, x); });
  CHECK(call.find("loom: no usable CUDA device") == 0);
  loom::tensor<float> host(4);
  const std::string upload = cuda_error_of([&] { (void)loom::cuda::to_device(host); });
  CHECK(upload.find("loom: no usable CUDA device") == 0);
}

TEST_CASE("a model whose copies disagree is refused, with the remedy named", "[cuda][errors]") {
  // x * 2.f and x * 3.f share a type: the CPU backend runs such a model op by op, and the
  // CUDA backend has no such form.
  const std::string what = loom_test::error_message<loom::trace_error>(
      [] {
        (void)loom::cuda::compile([](auto x) { return x * 2.f + x * 3.f; },
                                  loom::input<float, extents<dyn>>{});
      },
      "(no trace_error)");
  CHECK(what ==
        "loom::cuda: two values of one type hold different run-time scalars or callables (as "
        "in x * 2.f + x * 3.f), which the CUDA backend cannot keep apart; use loom::lit or a "
        "rank-0 input for the scalars");
  // Copies of one value agree, and compile as before.
  const float gain = 2.f;
  auto merged = loom::cuda::compile(
      [gain](auto x) {
        auto y = x * gain;
        return y * y;
      },
      loom::input<float, extents<dyn>>{});
  STATIC_REQUIRE(decltype(merged)::node_count == 4);
}
