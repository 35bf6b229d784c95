// DLPack exchange (loom/dlpack.hpp): what to_dlpack writes, what from_dlpack accepts and
// refuses, that no element is copied, and that every deleter runs exactly once. Exported
// structs are read field by field against the view; imported ones are built here by hand, as
// another framework would, over random data.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <loom/dlpack.hpp>
#include <loom/loom.hpp>
#include <string>
#include <utility>
#include <vector>

#include "../common/error_message.hpp"
#include "../common/random_fill.hpp"

namespace {

using loom::dyn;
using loom::extents;
using loom_test::error_message;

template <class F>
std::string dlpack_error_message(F&& f) {
  return error_message<loom::dlpack_error>(std::forward<F>(f), "<no loom::dlpack_error thrown>");
}

// A DLPack tensor as a producer outside loom makes one: its own shape and strides, and a
// deleter that counts its calls.
template <class Managed>
struct foreign {
  std::vector<std::int64_t> shape, strides;
  Managed managed{};
  int deleted = 0;

  foreign(void* data, DLDataType dtype, std::vector<std::int64_t> s, std::vector<std::int64_t> st)
      : shape(std::move(s)), strides(std::move(st)) {
    DLTensor& t = managed.dl_tensor;
    t.data = data;
    t.device = {kDLCPU, 0};
    t.ndim = static_cast<std::int32_t>(shape.size());
    t.dtype = dtype;
    t.shape = shape.data();
    t.strides = strides.empty() ? nullptr : strides.data();
    t.byte_offset = 0;
    managed.manager_ctx = this;
    managed.deleter = [](Managed* self) {
      ++static_cast<foreign*>(self->manager_ctx)->deleted;
    };
    if constexpr (std::is_same_v<Managed, loom::dlpack_versioned>) managed.version = {1, 0};
  }
};

template <class Managed, class T, class E>
void check_export(Managed* m, const loom::tensor_view<T, E>& v, DLDataType dtype) {
  const DLTensor& t = m->dl_tensor;
  CHECK(t.data == static_cast<const void*>(v.data()));
  CHECK(t.device.device_type == kDLCPU);
  CHECK(t.device.device_id == 0);
  CHECK(t.dtype.code == dtype.code);
  CHECK(t.dtype.bits == dtype.bits);
  CHECK(t.dtype.lanes == 1);
  CHECK(t.byte_offset == 0);
  REQUIRE(t.ndim == static_cast<std::int32_t>(E::rank));
  REQUIRE(t.strides != nullptr);
  std::int64_t stride = 1;
  for (std::size_t d = E::rank; d-- > 0;) {
    CHECK(t.shape[d] == static_cast<std::int64_t>(v.extent(d)));
    CHECK(t.strides[d] == stride);
    stride *= t.shape[d];
  }
}

}  // namespace

TEST_CASE("to_dlpack writes the view's data, shape, compact strides and dtype", "[dlpack]") {
  loom::tensor<float, extents<dyn, 5, dyn>> f(3, 4);
  loom_test::fill_uniform(f, 1, -2, 2);
  DLManagedTensor* m = loom::to_dlpack(f.view());
  check_export(m, f.view(), {kDLFloat, 32, 1});
  // The elements are the tensor's own: a write through DLPack shows in the tensor.
  static_cast<float*>(m->dl_tensor.data)[7] = 42.f;
  CHECK(f.data()[7] == 42.f);
  m->deleter(m);  // frees loom's metadata only; the tensor keeps its elements

  loom::tensor<double> d(6);
  loom_test::fill_uniform(d, 2, -1, 1);
  DLManagedTensor* md = loom::to_dlpack(d.view());
  check_export(md, d.view(), {kDLFloat, 64, 1});
  md->deleter(md);

  loom::tensor<loom::bf16> hb(5);
  loom::tensor<loom::f16> hf(5);
  loom_test::fill_uniform(hb, 5, -1, 1);
  loom_test::fill_uniform(hf, 6, -1, 1);
  DLManagedTensor* mhb = loom::to_dlpack(hb.view());
  DLManagedTensor* mhf = loom::to_dlpack(hf.view());
  check_export(mhb, hb.view(), {kDLBfloat, 16, 1});
  check_export(mhf, hf.view(), {kDLFloat, 16, 1});
  mhb->deleter(mhb);
  mhf->deleter(mhf);

  loom::tensor<std::int32_t, extents<2, 2>> i;
  loom_test::fill_int(i, 3, -9, 9);
  DLManagedTensor* mi = loom::to_dlpack(i.view());
  check_export(mi, i.view(), {kDLInt, 32, 1});
  mi->deleter(mi);

  loom::tensor<bool> b(9);
  loom_test::fill_bool(b, 4);
  DLManagedTensor* mb = loom::to_dlpack(b.view());
  check_export(mb, b.view(), {6, 8, 1});  // kDLBool
  mb->deleter(mb);

  // A tensor lvalue exports its view: the tensor keeps its memory.
  DLManagedTensor* mt = loom::to_dlpack(f);
  check_export(mt, f.view(), {kDLFloat, 32, 1});
  mt->deleter(mt);

  loom::tensor<float, extents<>> scalar;
  DLManagedTensor* ms = loom::to_dlpack(scalar.view());
  CHECK(ms->dl_tensor.ndim == 0);
  ms->deleter(ms);
}

TEST_CASE("to_dlpack_versioned is DLPack 1.0 and marks const views read-only", "[dlpack]") {
  loom::tensor<float, extents<dyn, dyn>> t(4, 3);
  loom_test::fill_uniform(t, 5, -1, 1);
  loom::dlpack_versioned* mutable_export = loom::to_dlpack_versioned(t.view());
  CHECK(mutable_export->version.major == 1);
  CHECK(mutable_export->version.minor == 0);
  CHECK(mutable_export->flags == 0);
  check_export(mutable_export, t.view(), {kDLFloat, 32, 1});
  mutable_export->deleter(mutable_export);

  const auto& ct = t;
  loom::dlpack_versioned* const_export = loom::to_dlpack_versioned(ct.view());
  CHECK(const_export->flags == 1);  // DLPACK_FLAG_BITMASK_READ_ONLY
  const_export->deleter(const_export);
  loom::dlpack_versioned* const_tensor = loom::to_dlpack_versioned(ct);
  CHECK(const_tensor->flags == 1);
  CHECK(const_tensor->dl_tensor.data == t.data());
  const_tensor->deleter(const_tensor);
}

TEST_CASE("a tensor moved into to_dlpack lives until the deleter, which frees it", "[dlpack]") {
  loom::tensor<float, extents<dyn>> t(1000);
  loom_test::fill_uniform(t, 6, -3, 3);
  const std::vector<float> want(t.begin(), t.end());
  const float* elements = t.data();
  DLManagedTensor* m = loom::to_dlpack(std::move(t));
  CHECK(t.data() == nullptr);  // NOLINT(bugprone-use-after-move): moved, and now empty
  CHECK(m->dl_tensor.data == elements);
  {
    auto back = loom::from_dlpack<const float>(m);
    CHECK(back.data() == elements);
    REQUIRE(back.size() == want.size());
    for (std::size_t k = 0; k < want.size(); ++k) CHECK(back.data()[k] == want[k]);
  }  // back's deleter frees the moved tensor: a sanitizer build reports a leak otherwise

  loom::tensor<double, extents<dyn, dyn>> v(3, 7);
  loom_test::fill_uniform(v, 7, -1, 1);
  loom::dlpack_versioned* mv = loom::to_dlpack_versioned(std::move(v));
  CHECK(mv->flags == 0);
  mv->deleter(mv);
}

TEST_CASE("from_dlpack views a foreign tensor in place and calls its deleter once", "[dlpack]") {
  std::vector<float> storage(2 * 3 * 8 + 4);
  for (std::size_t k = 0; k < storage.size(); ++k) storage[k] = std::sin(0.37f * float(k) + 0.2f);
  // byte_offset: the tensor starts 4 elements in.
  foreign<DLManagedTensor> f(storage.data(), {kDLFloat, 32, 1}, {2, 3, 8}, {});
  f.managed.dl_tensor.byte_offset = 4 * sizeof(float);
  {
    auto t = loom::from_dlpack<float, extents<dyn, 3, dyn>>(&f.managed);
    CHECK(t.data() == storage.data() + 4);
    CHECK(t.shape().to_string() == "[2, 3, 8]");
    CHECK(t.view()(1, 2, 5) == storage[4 + 1 * 24 + 2 * 8 + 5]);
    // A model reads it where it lies: x * 2 + 1 against a double loop.
    auto model = [](auto x) {
      return x * 2.f + 1.f;
    };
    auto compiled = loom::compile(model, loom::input<float, extents<dyn, 3, dyn>>{});
    auto y = compiled(t.view());
    for (std::size_t k = 0; k < t.size(); ++k)
      CHECK(y.data()[k] == Approx(2.0 * storage[4 + k] + 1.0).epsilon(1e-6));
    auto moved = std::move(t);
    CHECK(f.deleted == 0);
  }
  CHECK(f.deleted == 1);

  // Compact strides given explicitly, and any stride along an extent of 1.
  foreign<DLManagedTensor> s(storage.data(), {kDLFloat, 32, 1}, {6, 1, 8}, {8, 999, 1});
  {
    auto t = loom::from_dlpack<const float, extents<dyn, 1, 8>>(&s.managed);
    CHECK(t.view()(5, 0, 7) == storage[5 * 8 + 7]);
  }
  CHECK(s.deleted == 1);

  std::vector<std::int32_t> ints{3, -1, 4, 1, -5, 9};
  foreign<loom::dlpack_versioned> v(ints.data(), {kDLInt, 32, 1}, {6}, {1});
  v.managed.flags = 1;  // read-only: taken as const
  {
    auto t = loom::from_dlpack<const std::int32_t>(&v.managed);
    auto sum = loom::sum(t.view());
    CHECK(sum.data()[0] == 11);
  }
  CHECK(v.deleted == 1);
}

TEST_CASE("to_dlpack then from_dlpack gives the same elements back", "[dlpack]") {
  loom::tensor<double, extents<dyn, 16>> t(9);
  loom_test::fill_normal(t, 8, 0, 1);
  {
    auto back = loom::from_dlpack<double, extents<dyn, 16>>(loom::to_dlpack(t.view()));
    CHECK(back.data() == t.data());
    CHECK(back.shape().to_string() == "[9, 16]");
  }
  {
    auto back = loom::from_dlpack<const double, extents<dyn, dyn>>(
        loom::to_dlpack_versioned(std::as_const(t).view()));
    CHECK(back.data() == t.data());
  }
}

TEST_CASE("from_dlpack refuses what a view cannot read, and leaves it to the caller",
          "[dlpack][errors]") {
  std::vector<double> storage(24, 1.0);
  auto refused = [&](auto&& make_and_import) {
    foreign<DLManagedTensor> f(storage.data(), {kDLFloat, 64, 1}, {4, 6}, {});
    std::string message = make_and_import(f);
    CHECK(f.deleted == 0);  // not taken: the caller still owns it
    return message;
  };

  CHECK(refused([](auto& f) {
          return dlpack_error_message(
              [&] { loom::from_dlpack<float, extents<dyn, dyn>>(&f.managed); });
        }) ==
        "loom: from_dlpack: the DLPack tensor holds code 2, 64 bits, 1 lanes; the view asks "
        "for f32 (code 2, 32 bits, 1 lanes)");
  CHECK(refused([](auto& f) {
          return loom_test::shape_error_message(
              [&] { loom::from_dlpack<double, extents<dyn>>(&f.managed); });
        }) == "loom: from_dlpack: the DLPack tensor has 2 axes; the view has 1");
  CHECK(refused([](auto& f) {
          return loom_test::shape_error_message(
              [&] { loom::from_dlpack<double, extents<dyn, 5>>(&f.managed); });
        }) == "loom: shape [4, 6] does not fit static extents [?, 5]");
  CHECK(refused([](auto& f) {
          f.strides = {1, 4};  // column-major
          f.managed.dl_tensor.strides = f.strides.data();
          return dlpack_error_message(
              [&] { loom::from_dlpack<double, extents<dyn, dyn>>(&f.managed); });
        }) ==
        "loom: from_dlpack: strides [1, 4] of shape [4, 6] are not row-major and compact "
        "([6, 1]); loom views need compact row-major elements");
  CHECK(refused([](auto& f) {
          f.managed.dl_tensor.dtype.lanes = 2;
          return dlpack_error_message(
              [&] { loom::from_dlpack<double, extents<dyn, dyn>>(&f.managed); });
        }) == "loom: from_dlpack: the DLPack tensor has 2 lanes per element; loom reads 1");
  CHECK(refused([](auto& f) {
          f.managed.dl_tensor.device = {kDLCUDA, 1};
          return dlpack_error_message(
              [&] { loom::from_dlpack<double, extents<dyn, dyn>>(&f.managed); });
        }) ==
        "loom: from_dlpack: the DLPack tensor is on device type 2 id 1; this view reads "
        "kDLCPU or kDLCUDAHost");
  CHECK(refused([](auto& f) {
          f.managed.dl_tensor.byte_offset = 4;  // half a double
          return dlpack_error_message(
              [&] { loom::from_dlpack<double, extents<dyn, dyn>>(&f.managed); });
        }) == "loom: from_dlpack: data plus byte_offset 4 is not aligned for f64");
  CHECK(dlpack_error_message([] {
          loom::from_dlpack<float>(static_cast<DLManagedTensor*>(nullptr));
        }) == "loom: from_dlpack: null DLManagedTensor");

  foreign<loom::dlpack_versioned> v(storage.data(), {kDLFloat, 64, 1}, {24}, {});
  v.managed.flags = 1;
  CHECK(dlpack_error_message([&] { loom::from_dlpack<double>(&v.managed); }) ==
        "loom: from_dlpack: the DLPack tensor is read-only; take it as from_dlpack<const f64 "
        "elements>");
  v.managed.flags = 0;
  v.managed.version = {2, 0};
  CHECK(dlpack_error_message([&] { loom::from_dlpack<double>(&v.managed); }) ==
        "loom: from_dlpack: DLPack major version 2 is not supported (loom reads 1)");
  CHECK(v.deleted == 0);
}
