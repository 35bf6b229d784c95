#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include "loom/core/layout.hpp"
#include "loom/core/shape.hpp"
#include "loom/interop/dlpack_abi.hpp"
#include "loom/tensor/tensor.hpp"

namespace loom {

namespace dlpack_abi {

// What an exported DLPack tensor points into: the managed struct, its shape and strides (a
// DLTensor only points at them), and, for a tensor handed over by move, the tensor itself,
// so that its memory lives until the consumer calls the deleter.
template <class Managed, class Owned>
struct export_holder {
  Managed managed{};
  std::array<std::int64_t, max_rank> shape{};
  std::array<std::int64_t, max_rank> strides{};
  Owned owned;

  static void deleter(Managed* self) { delete static_cast<export_holder*>(self->manager_ctx); }
};

struct no_owner {};

template <class Managed, class T, class E, class Space, class Owned>
Managed* export_view(const tensor_view<T, E, Space>& v, Owned owned) {
  static_assert(has_device<Space>,
                "loom: to_dlpack: this memory space has no DLPack device (loom knows "
                "host_memory and cuda::device_memory)");
  using holder_type = export_holder<Managed, Owned>;
  std::unique_ptr<holder_type> holder(new holder_type{{}, {}, {}, std::move(owned)});
  const shape& s = v.shape();
  // Strides always written, in elements, row-major: consumers that ignore a null strides
  // field's meaning still read the layout right.
  const layout compact = layout::contiguous(s);
  for (std::size_t d = 0; d < s.rank; ++d) {
    holder->shape[d] = static_cast<std::int64_t>(s.dims[d]);
    holder->strides[d] = compact.stride[d];
  }
  DLTensor& t = holder->managed.dl_tensor;
  t.data = const_cast<std::remove_const_t<T>*>(v.data());
  t.device = device<Space>::of(v.data());
  t.ndim = static_cast<std::int32_t>(s.rank);
  t.dtype = dtype_of<std::remove_const_t<T>>();
  t.shape = holder->shape.data();
  t.strides = holder->strides.data();
  t.byte_offset = 0;
  holder->managed.manager_ctx = holder.get();
  holder->managed.deleter = &holder_type::deleter;
  if constexpr (std::is_same_v<Managed, dlpack_versioned>) {
    holder->managed.version = {major_version, minor_version};
    holder->managed.flags = std::is_const_v<T> ? read_only_flag : 0;
  }
  return &holder.release()->managed;
}

// What each kind of argument exports: a view as it is; a tensor lvalue as its view (the
// tensor keeps its memory); a tensor rvalue whole, owned by the DLPack tensor from then on.
template <class Managed, class T, class E, class Space>
Managed* export_of(const tensor_view<T, E, Space>& v) {
  return export_view<Managed>(v, no_owner{});
}
template <class Managed, class T, class E, class Space>
Managed* export_of(tensor<T, E, Space>& t) {
  return export_view<Managed>(t.view(), no_owner{});
}
template <class Managed, class T, class E, class Space>
Managed* export_of(const tensor<T, E, Space>& t) {
  return export_view<Managed>(t.view(), no_owner{});
}
template <class Managed, class T, class E, class Space>
Managed* export_of(tensor<T, E, Space>&& t) {
  const tensor_view<T, E, Space> v = t.view();
  return export_view<Managed>(v, std::move(t));
}

}  // namespace dlpack_abi

// `x`'s elements as a DLPack tensor, without a copy. For a view or a tensor lvalue the caller
// keeps the elements alive until the consumer calls the deleter, which frees only what loom
// allocated (shape, strides); a tensor moved in (`to_dlpack(std::move(t))`) is owned by the
// DLPack tensor, and the deleter frees it.
template <class X>
DLManagedTensor* to_dlpack(X&& x) {
  return dlpack_abi::export_of<DLManagedTensor>(std::forward<X>(x));
}

// The same as DLPack 1.0's versioned struct, whose flags mark const elements read-only.
template <class X>
dlpack_versioned* to_dlpack_versioned(X&& x) {
  return dlpack_abi::export_of<dlpack_versioned>(std::forward<X>(x));
}

}  // namespace loom
