// DLPack round trips between loom and libtorch 1.13 (Debian's libtorch-dev) on the CPU:
// the same memory on both sides, writes visible both ways, every deleter run exactly once.
// loom's header comes first here; aten_first.cpp includes ATen's DLPack header first.
#include <loom/dlpack.hpp>
#include <loom/loom.hpp>

#include <ATen/ATen.h>
#include <ATen/DLConvertor.h>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "../common/random_fill.hpp"
#include "aten_first.hpp"

namespace {

using loom::dyn;
using loom::extents;

// Counts the calls of an exported tensor's deleter, then runs the deleter it replaced.
struct deleter_count {
  static inline int calls = 0;
  static inline void (*original)(DLManagedTensor*) = nullptr;
  static DLManagedTensor* watch(DLManagedTensor* m) {
    calls = 0;
    original = m->deleter;
    m->deleter = [](DLManagedTensor* self) {
      ++calls;
      original(self);
    };
    return m;
  }
};

}  // namespace

TEST_CASE("a torch tensor taken by from_dlpack is the same memory, released once",
          "[dlpack][torch]") {
  at::manual_seed(1);
  at::Tensor t = at::randn({6, 33}, at::kFloat);
  const auto refs = t.use_count();
  {
    auto v = loom::from_dlpack<float, extents<dyn, 33>>(at::toDLPack(t));
    CHECK(t.use_count() == refs + 1);  // the DLPack tensor holds a reference
    CHECK(v.data() == t.data_ptr<float>());
    CHECK(v.shape().to_string() == "[6, 33]");

    // A compiled model on torch's memory against torch's own result, and a double loop.
    auto model = [](auto x) {
      return loom::tanh(x) * 2.f;
    };
    auto compiled = loom::compile(model, loom::input<float, extents<dyn, 33>>{});
    auto y = compiled(v.view());
    const at::Tensor want = at::tanh(t) * 2;
    for (std::size_t k = 0; k < y.size(); ++k) {
      CHECK(y.data()[k] == Approx(want.data_ptr<float>()[k]).epsilon(1e-6));
      CHECK(y.data()[k] == Approx(2.0 * std::tanh(double(t.data_ptr<float>()[k]))).epsilon(1e-6));
    }

    v.view()(2, 7) = 42.f;  // a write through loom shows in torch
    CHECK(t[2][7].item<float>() == 42.f);
    t[4][1] = -3.f;  // and one through torch in loom
    CHECK(v.view()(4, 1) == -3.f);
  }
  CHECK(t.use_count() == refs);  // loom ran torch's deleter, once
}

TEST_CASE("torch takes loom views and tensors through to_dlpack", "[dlpack][torch]") {
  loom::tensor<double, extents<dyn, dyn>> x(5, 7);
  loom_test::fill_normal(x, 2, 0, 1);
  {
    at::Tensor t = at::fromDLPack(deleter_count::watch(loom::to_dlpack(x.view())));
    CHECK(t.data_ptr<double>() == x.data());
    CHECK(t.sizes() == at::IntArrayRef({5, 7}));
    CHECK(t.strides() == at::IntArrayRef({7, 1}));
    CHECK(t.scalar_type() == at::kDouble);
    t[3][6] = 9.5;  // torch writes, loom sees
    CHECK(x(3, 6) == 9.5);
    x(0, 0) = -1.25;  // loom writes, torch sees
    CHECK(t[0][0].item<double>() == -1.25);
    CHECK(deleter_count::calls == 0);
  }
  CHECK(deleter_count::calls == 1);  // torch ran loom's deleter when its tensor died

  loom::tensor<std::int32_t, extents<dyn>> i(11);
  loom_test::fill_int(i, 3, -100, 100);
  const std::vector<std::int32_t> values(i.begin(), i.end());
  const std::int32_t* elements = i.data();
  {
    at::Tensor t = at::fromDLPack(deleter_count::watch(loom::to_dlpack(std::move(i))));
    CHECK(t.data_ptr<std::int32_t>() == elements);
    CHECK(t.scalar_type() == at::kInt);
    for (std::size_t k = 0; k < values.size(); ++k)
      CHECK(t[static_cast<std::int64_t>(k)].item<std::int32_t>() == values[k]);
  }
  CHECK(deleter_count::calls == 1);  // and freed the tensor loom handed over
}

TEST_CASE("torch to loom to torch, with ATen's DLPack header included first", "[dlpack][torch]") {
  at::manual_seed(3);
  const at::Tensor t = at::rand({4, 9}, at::kFloat);
  const at::Tensor back = torch_through_loom(t);
  CHECK(back.sizes() == t.sizes());
  CHECK(at::equal(back, t + 1));
}
