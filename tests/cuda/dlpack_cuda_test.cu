// DLPack exchange of device memory (loom/dlpack.hpp compiled by nvcc): a device view exported
// names the current CUDA device, a device tensor moved into to_dlpack lives until the
// deleter, and a foreign DLPack tensor in device memory feeds a compiled CUDA model in place.
// Host memory is refused by a device view and device memory by a host view.
#include <cuda_runtime.h>
#include <catch2/catch.hpp>
#include <loom/cuda.hpp>
#include <loom/dlpack.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "../common/error_message.hpp"
#include "support.hpp"

using namespace cuda_test;

TEST_CASE("device views and tensors go to DLPack and back without a copy", "[dlpack]") {
  int device = 0;
  CT_CUDA(cudaGetDevice(&device));
  const auto host = normal_tensor<float, extents<dyn, 32>>(make_shape({50, 32}), 11, 0, 1);
  auto d = upload(host);

  DLManagedTensor* m = loom::to_dlpack(d.view());
  CHECK(m->dl_tensor.device.device_type == kDLCUDA);
  CHECK(m->dl_tensor.device.device_id == device);
  CHECK(m->dl_tensor.data == d.data());
  {
    auto back = loom::from_dlpack<const float, extents<dyn, 32>, lc::device_memory>(m);
    CHECK(back.data() == d.data());
    // A compiled CUDA model reads it where it lies: relu(2x - 1) against a double loop.
    auto model = [](auto x) {
      return loom::relu(x * 2.f - 1.f);
    };
    auto compiled = lc::compile(model, loom::input<float, extents<dyn, 32>>{});
    const auto y = lc::to_host(compiled(nullptr, back.view()));
    sync_ok();
    for (std::size_t k = 0; k < host.size(); ++k)
      CHECK(y.data()[k] == Approx(std::max(0.0, 2.0 * host.data()[k] - 1.0)).margin(1e-6));
  }

  const float* elements = d.data();
  loom::dlpack_versioned* owned = loom::to_dlpack_versioned(std::move(d));
  CHECK(owned->dl_tensor.data == elements);
  CHECK(owned->flags == 0);
  owned->deleter(owned);  // frees the device tensor (cudaFreeAsync on its stream)
  sync_ok();
}

TEST_CASE("a device view refuses host memory, and a host view device memory", "[dlpack][errors]") {
  auto d = upload(uniform_tensor<float>(make_shape({8}), 12, -1, 1));
  DLManagedTensor* m = loom::to_dlpack(d.view());
  CHECK(loom_test::error_message<loom::dlpack_error>([&] { loom::from_dlpack<float>(m); }, "none")
            .find("this view reads kDLCPU or kDLCUDAHost") != std::string::npos);
  loom::tensor<float> h(8);
  DLManagedTensor* mh = loom::to_dlpack(h.view());
  CHECK(loom_test::error_message<loom::dlpack_error>(
            [&] { loom::from_dlpack<float, extents<dyn>, lc::device_memory>(mh); }, "none")
            .find("this view reads kDLCUDA or kDLCUDAManaged on the current device") !=
        std::string::npos);
  m->deleter(m);
  mh->deleter(mh);
}
