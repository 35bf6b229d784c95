#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "loom/core/config.hpp"
#include "loom/core/errors.hpp"
#include "loom/core/layout.hpp"
#include "loom/core/shape.hpp"
#include "loom/interop/dlpack_abi.hpp"
#include "loom/tensor/tensor.hpp"

namespace loom {

// A DLPack tensor taken over by loom: a view of its elements (no copy) that calls the
// producer's deleter exactly once, when it is destroyed. Move-only. Pass `view()` to compiled
// models and eager ops.
template <class T, extents_type E = extents<dyn>, memory_space Space = host_memory>
class dlpack_tensor {
 public:
  using element_type = T;
  using value_type = std::remove_const_t<T>;
  using extents_type = E;
  using memory_space = Space;

  dlpack_tensor(dlpack_tensor&& other) noexcept
      : view_(std::exchange(other.view_, {})),
        managed_(std::exchange(other.managed_, nullptr)),
        release_(other.release_) {}
  dlpack_tensor& operator=(dlpack_tensor other) noexcept {
    std::swap(view_, other.view_);
    std::swap(managed_, other.managed_);
    std::swap(release_, other.release_);
    return *this;
  }
  ~dlpack_tensor() {
    if (managed_) release_(managed_);
  }

  const tensor_view<T, E, Space>& view() const { return view_; }
  T* data() const { return view_.data(); }
  const loom::shape& shape() const { return view_.shape(); }
  std::size_t size() const { return view_.size(); }
  std::size_t extent(std::size_t i) const { return view_.extent(i); }

  // Takes `managed` over once `v` has been checked against it (dlpack_abi::view_of).
  template <class Managed>
  dlpack_tensor(Managed* managed, const tensor_view<T, E, Space>& v)
      : view_(v), managed_(managed), release_([](void* m) {
          auto* self = static_cast<Managed*>(m);
          if (self->deleter) self->deleter(self);
        }) {}

 private:
  tensor_view<T, E, Space> view_;
  void* managed_ = nullptr;
  void (*release_)(void*) = nullptr;
};

namespace dlpack_abi {

[[noreturn]] LOOM_COLD inline void fail(const std::string& why) {
  throw dlpack_error("loom: from_dlpack: " + why);
}

// "[a, b, ...]": the strides of `l`, for messages.
inline std::string strides_text(const layout& l) {
  std::string text = "[";
  for (std::size_t d = 0; d < l.dims.rank; ++d)
    text += (d ? ", " : "") + std::to_string(l.stride[d]);
  return text + "]";
}

// The shape of `t`, once it is row-major and compact (strides null, or those of the shape;
// any stride along an extent of 1).
inline shape checked_layout(const DLTensor& t, std::size_t rank) {
  if (t.ndim < 0 || static_cast<std::size_t>(t.ndim) != rank)
    throw shape_error("loom: from_dlpack: the DLPack tensor has " + std::to_string(t.ndim) +
                      " axes; the view has " + std::to_string(rank));
  shape s;
  s.rank = rank;
  for (std::size_t d = 0; d < rank; ++d) {
    if (t.shape[d] < 0) fail("negative extent " + std::to_string(t.shape[d]));
    s.dims[d] = static_cast<std::size_t>(t.shape[d]);
  }
  if (t.strides == nullptr) return s;
  layout given;
  given.dims = s;
  for (std::size_t d = 0; d < rank; ++d)
    given.stride[d] = static_cast<std::ptrdiff_t>(t.strides[d]);
  if (!given.is_contiguous())
    fail("strides " + strides_text(given) + " of shape " + s.to_string() +
         " are not row-major and compact (" + strides_text(layout::contiguous(s)) +
         "); loom views need compact row-major elements");
  return s;
}

// The view of `T` with extents E in `Space` that `t` describes, or the error that says why
// there is none.
template <class T, extents_type E, memory_space Space>
tensor_view<T, E, Space> view_of(const DLTensor& t) {
  static_assert(has_device<Space>,
                "loom: from_dlpack: this memory space has no DLPack device (loom knows "
                "host_memory and cuda::device_memory)");
  using V = std::remove_const_t<T>;
  constexpr DLDataType want = dtype_of<V>();
  if (t.dtype.lanes != 1)
    fail("the DLPack tensor has " + std::to_string(t.dtype.lanes) +
         " lanes per element; loom reads 1");
  if (t.dtype.code != want.code || t.dtype.bits != want.bits)
    fail("the DLPack tensor holds " + dtype_text(t.dtype) + "; the view asks for " +
         std::string(dtype_name<V>()) + " (" + dtype_text(want) + ")");
  if (!device<Space>::reads(t.device))
    fail("the DLPack tensor is on device type " + std::to_string(t.device.device_type) + " id " +
         std::to_string(t.device.device_id) + "; this view reads " + device<Space>::expected);
  const shape s = checked_layout(t, E::rank);
  auto* data = reinterpret_cast<T*>(static_cast<unsigned char*>(t.data) + t.byte_offset);
  if (reinterpret_cast<std::uintptr_t>(data) % alignof(V) != 0)
    fail("data plus byte_offset " + std::to_string(t.byte_offset) + " is not aligned for " +
         std::string(dtype_name<V>()));
  return tensor_view<T, E, Space>(data, s);  // shape_error where s does not fit E
}

}  // namespace dlpack_abi

// Takes a DLPack tensor over, without a copy, as a view of `T` (const T for read-only use)
// with extents E in memory space `Space`. On success the result owns `managed` and calls its
// deleter once; on error (loom::dlpack_error, or loom::shape_error for the extents) nothing
// is taken and the caller still owns it.
template <class T, extents_type E = extents<dyn>, memory_space Space = host_memory>
dlpack_tensor<T, E, Space> from_dlpack(DLManagedTensor* managed) {
  if (!managed) dlpack_abi::fail("null DLManagedTensor");
  return {managed, dlpack_abi::view_of<T, E, Space>(managed->dl_tensor)};
}

// The same for DLPack 1.x's versioned struct: its major version must be 1, and a read-only
// tensor may only be taken as const T.
template <class T, extents_type E = extents<dyn>, memory_space Space = host_memory>
dlpack_tensor<T, E, Space> from_dlpack(dlpack_versioned* managed) {
  if (!managed) dlpack_abi::fail("null DLManagedTensorVersioned");
  if (managed->version.major != dlpack_abi::major_version)
    dlpack_abi::fail("DLPack major version " + std::to_string(managed->version.major) +
                     " is not supported (loom reads " + std::to_string(dlpack_abi::major_version) +
                     ")");
  if ((managed->flags & dlpack_abi::read_only_flag) && !std::is_const_v<T>)
    dlpack_abi::fail("the DLPack tensor is read-only; take it as from_dlpack<const " +
                     std::string(dtype_name<std::remove_const_t<T>>()) + " elements>");
  return {managed, dlpack_abi::view_of<T, E, Space>(managed->dl_tensor)};
}

}  // namespace loom
