// One loom::cuda compiled model called on two streams: alternately from one host thread, with
// nothing waited for between the calls, and from two host threads at once, each with its own
// stream. The model's temporaries (here the product a softmax reads) live in one workspace;
// a call on another stream than the previous one waits on the GPU for that call's work, and
// host threads take the workspace in turn (guide, "On the GPU"). The row counts change from
// call to call so that the workspace also grows while the other stream may still use it. A
// call that read or wrote another call's temporaries would be off by O(1); each result is
// compared with the CPU backend's for the same inputs.
#include <cuda_runtime.h>
#include <catch2/catch.hpp>
#include <loom/cuda.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace cuda_test;

namespace {

constexpr std::size_t k = 64, n = 32;
using rows_t = loom::tensor<float, extents<dyn, k>>;
using weights_t = loom::tensor<float, extents<k, n>>;
using bias_t = loom::tensor<float, extents<n>>;
using out_t = loom::tensor<float, extents<dyn, n>>;

// The GEMM's product is stored in the workspace, then the softmax over its rows reads it.
const auto layer = [](auto x, auto w, auto b) {
  return loom::softmax(loom::matmul(x, w) + b);
};

auto cpu_model() {
  return loom::compile(layer,
                       loom::input<float, extents<dyn, k>>{},
                       loom::input<float, extents<k, n>>{},
                       loom::input<float, extents<n>>{});
}

// The inputs of one call: row counts that rise and fall, so that some calls grow the
// workspace.
struct call_inputs {
  rows_t x;
  weights_t w;
  bias_t b;
};
call_inputs inputs_for(int call) {
  constexpr std::size_t rows[] = {300, 1200, 40, 2500, 700, 2500, 90, 4000};
  call_inputs in{normal_tensor<float, extents<dyn, k>>(
                     make_shape({rows[call % 8], k}), std::uint32_t(100 + call), 0, 1),
                 {},
                 {}};
  fill_normal(in.w, std::uint32_t(200 + call), 0, 0.05);
  fill_normal(in.b, std::uint32_t(300 + call), 0, 1);
  return in;
}

// Against the CPU's result. Both sum the 64 products in their own order, each within 64 units
// of roundoff of the sum of the products' magnitudes (about 2 here): logits within ~1e-5 of
// each other, so softmax values within ~2e-5 relative. A call that used another call's product
// would be off by O(1).
report against_cpu(const out_t& gpu, const out_t& cpu, const std::string& what) {
  return compare(gpu, cpu, tolerance{1e-4, 1e-9}, what);
}

}  // namespace

TEST_CASE("one model, called on two streams in turn, waits for the other stream's call",
          "[cuda][streams]") {
  const auto cpu = cpu_model();
  const auto gpu = lc::to_cuda(cpu);
  scoped_stream first, second;
  constexpr int calls = 8;
  std::vector<call_inputs> host;
  std::vector<out_t> want;
  for (int c = 0; c < calls; ++c) {
    host.push_back(inputs_for(c));
    want.push_back(cpu(host[c].x, host[c].w, host[c].b));
  }

  // operator(): every call enqueued before any result is copied back.
  std::vector<lc::device_tensor<float, extents<dyn, n>>> results;
  std::vector<lc::device_tensor<float, extents<dyn, k>>> dx;
  std::vector<lc::device_tensor<float, extents<k, n>>> dw;
  std::vector<lc::device_tensor<float, extents<n>>> db;
  for (int c = 0; c < calls; ++c) {
    const cudaStream_t s = c % 2 ? second : first;
    dx.push_back(upload(host[c].x, s));
    dw.push_back(upload(host[c].w, s));
    db.push_back(upload(host[c].b, s));
    guarded("call " + std::to_string(c), [&] { results.push_back(gpu(s, dx[c], dw[c], db[c])); });
  }
  REQUIRE(results.size() == std::size_t(calls));
  for (int c = 0; c < calls; ++c)
    CT_CHECK_REPORT(against_cpu(lc::to_host(results[c], c % 2 ? second : first),
                                want[c],
                                "operator(), call " + std::to_string(c)));

  // run(): into poisoned buffers of the caller's, again alternating, again nothing waited for.
  std::vector<lc::device_tensor<float, extents<dyn, n>>> outs;
  for (int c = 0; c < calls; ++c) {
    const cudaStream_t s = c % 2 ? first : second;  // the other way round
    outs.push_back(poisoned<float, extents<dyn, n>>(want[c].shape(), s));
    guarded("run " + std::to_string(c), [&] { gpu.run(s, outs[c], dx[c], dw[c], db[c]); });
  }
  for (int c = 0; c < calls; ++c)
    CT_CHECK_REPORT(against_cpu(
        lc::to_host(outs[c], c % 2 ? first : second), want[c], "run(), call " + std::to_string(c)));
  sync_ok();
}

TEST_CASE("one model, called from two host threads at once, each on its own stream",
          "[cuda][streams][threads]") {
  const auto cpu = cpu_model();
  const auto gpu = lc::to_cuda(cpu);
  scoped_stream streams[2];
  constexpr int calls_per_thread = 6;

  // Catch2's assertions are not thread-safe: each thread keeps its results (or what it
  // threw), and this thread checks them after the join.
  struct outcome {
    std::vector<out_t> got, want;
    std::string error;
  };
  outcome outcomes[2];
  auto work = [&](int t) {
    try {
      for (int c = 0; c < calls_per_thread; ++c) {
        const int call = 2 * c + t;
        const call_inputs in = inputs_for(call);
        const cudaStream_t s = streams[t];
        auto dx = upload(in.x, s);
        auto dw = upload(in.w, s);
        auto db = upload(in.b, s);
        outcomes[t].got.push_back(lc::to_host(gpu(s, dx, dw, db), s));
        outcomes[t].want.push_back(cpu(in.x, in.w, in.b));
      }
    } catch (const std::exception& e) {
      outcomes[t].error = e.what();
    }
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  for (int t = 0; t < 2; ++t) {
    INFO("host thread " << t);
    CHECK(outcomes[t].error.empty());
    REQUIRE(outcomes[t].got.size() == outcomes[t].want.size());
    for (std::size_t c = 0; c < outcomes[t].got.size(); ++c)
      CT_CHECK_REPORT(against_cpu(outcomes[t].got[c],
                                  outcomes[t].want[c],
                                  "thread " + std::to_string(t) + ", call " + std::to_string(c)));
  }
  sync_ok();
}
