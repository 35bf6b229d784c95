// loom::sgd and loom::adam over device tensors, and a whole training step (loss, gradients and
// update in one model) on the GPU, run and captured into a CUDA graph: against the same steps
// on the CPU, whose results tests/unit/training_step_test.cpp and optim_test.cpp check against
// double-precision references. The model is small: nvcc's front end plans larger joint graphs
// slowly.
#include <cuda_runtime.h>
#include <catch2/catch.hpp>
#include <loom/cuda.hpp>

#include <cstddef>
#include <cstdint>

#include "support.hpp"

using namespace cuda_test;

namespace {

constexpr std::size_t batch = 7;
using x_t = loom::tensor<double, extents<batch, 5>>;
using y_t = loom::tensor<double, extents<batch, 3>>;
using w_t = loom::tensor<double, extents<5, 3>>;
using b_t = loom::tensor<double, extents<3>>;

// Least squares (a named class: nvcc rejects lambda closure types in kernel arguments).
struct least_squares {
  template <class X, class Y, class W, class B>
  auto operator()(const X& x, const Y& y, const W& w, const B& b) const {
    return loom::mean(loom::square(loom::matmul(x, w) + b - y));
  }
};

template <class T, class E>
void check_close(const lc::device_tensor<T, E>& got,
                 const loom::tensor<T, E>& want,
                 const char* what) {
  // The same double-precision steps: equal up to the rounding of a few sums.
  CT_CHECK_REPORT(compare(lc::to_host(got), want, tolerance{1e-12, 1e-12}, what));
}

}  // namespace

TEST_CASE("a training step runs on the GPU, and replays as one CUDA graph", "[cuda][train]") {
  const x_t x = normal_tensor<double, extents<batch, 5>>(loom::shape{2, {batch, 5}}, 1, 0.0, 1.0);
  const y_t y = normal_tensor<double, extents<batch, 3>>(loom::shape{2, {batch, 3}}, 2, 0.0, 1.0);
  w_t w = normal_tensor<double, extents<5, 3>>(loom::shape{2, {5, 3}}, 3, 0.0, 1.0);
  b_t b = normal_tensor<double, extents<3>>(loom::shape{1, {3}}, 4, 0.0, 1.0);
  scoped_stream stream;
  auto dx = upload(x, stream);
  auto dy = upload(y, stream);
  auto dw = upload(w, stream);
  auto db = upload(b, stream);
  const loom::sgd_options options{.lr = 0.05, .momentum = 0.9};

  loom::sgd host_opt(options, w, b);
  auto host_train = loom::compile_training_step(least_squares{}, host_opt, x, y);
  loom::sgd device_opt(options, dw, db);
  device_opt.set_stream(stream);
  auto device_train = loom::compile_training_step(least_squares{},
                                                  device_opt,
                                                  loom::input<double, extents<batch, 5>>{},
                                                  loom::input<double, extents<batch, 3>>{});
  // One step as a call, then three replays of the captured step.
  const auto host_loss = host_train(x, y);
  const auto device_loss = lc::to_host(device_train(dx, dy), stream);
  CHECK(*device_loss.data() == Approx(*host_loss.data()).epsilon(1e-12));
  lc::device_tensor<double, extents<>> loss(loom::shape{}, stream);
  auto graph = device_train.capture(loss, dx, dy);
  CHECK(device_opt.steps() == 1);  // capturing runs nothing
  for (int s = 0; s < 3; ++s) {
    graph.launch();
    host_train(x, y);
  }
  CHECK(device_opt.steps() == 4);
  CT_CUDA(cudaStreamSynchronize(stream));
  check_close(dw, w, "w after 4 steps");
  check_close(db, b, "b after 4 steps");
}

TEST_CASE("adam updates device parameters in place, and resets, as on the CPU", "[cuda][train]") {
  w_t w = normal_tensor<double, extents<5, 3>>(loom::shape{2, {5, 3}}, 5, 0.0, 1.0);
  scoped_stream stream;
  auto dw = upload(w, stream);
  const loom::adam_options options{.lr = 0.01, .beta1 = 0.8, .beta2 = 0.95};
  loom::adam host_opt(options, w);
  loom::adam device_opt(options, dw);
  device_opt.set_stream(stream);
  for (std::uint32_t s = 0; s < 3; ++s) {
    const w_t g = normal_tensor<double, extents<5, 3>>(loom::shape{2, {5, 3}}, 10 + s, 0.0, 1.0);
    // After two steps, both start again as new optimizers (the state zeroed on the stream).
    if (s == 2) {
      host_opt.reset();
      device_opt.reset();
    }
    host_opt.step(g);
    device_opt.step(upload(g, stream));
  }
  CHECK(device_opt.steps() == 1);
  CT_CUDA(cudaStreamSynchronize(stream));
  check_close(dw, w, "w after 2 steps, a reset and a step");
}
