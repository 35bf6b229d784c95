#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "loom/core/dtype.hpp"
#include "loom/core/errors.hpp"
#include "loom/core/shape.hpp"
#include "loom/tensor/memory_space.hpp"

namespace loom {

namespace detail {

[[noreturn]] LOOM_COLD inline void throw_not_fitting(const shape& s,
                                                     std::size_t rank,
                                                     const std::size_t* dims) {
  throw shape_error("loom: shape " + s.to_string() + " does not fit static extents " +
                    extents_string(rank, dims));
}

// `s`, once it is known to fit the static extents E (shape_error otherwise, before anything
// is allocated).
template <extents_type E>
const shape& checked_shape(const shape& s) {
  if (!conforms<E>(s)) throw_not_fitting(s, E::rank, E::dims.data());
  return s;
}

// Builds the run-time shape of extents E from either every extent or only the dynamic ones,
// as std::mdspan's constructors accept.
template <extents_type E, class... I>
shape make_shape(I... given) {
  static_assert(sizeof...(I) == E::rank || sizeof...(I) == E::rank_dynamic,
                "loom: give every extent, or only the dynamic ones");
  const std::array<std::size_t, sizeof...(I)> values{static_cast<std::size_t>(given)...};
  shape s;
  s.rank = E::rank;
  std::size_t next = 0;
  // `!=`, not `<`: E::rank may be 0, where nvcc warns that `i < 0` is pointless.
  for (std::size_t i = 0; i != E::rank; ++i) {
    if constexpr (sizeof...(I) == E::rank)
      s.dims[i] = values[i];
    else
      s.dims[i] = E::dims[i] == dyn ? values[next++] : E::dims[i];
  }
  return checked_shape<E>(s);
}

// Whether a value of extents From may have extents To: the same rank, and each extent equal
// where both are static. (Where either is dyn, the conversion checks the shape at run time.)
template <extents_type From, extents_type To>
inline constexpr bool extents_may_match = [] {
  if (From::rank != To::rank) return false;
  for (std::size_t i = 0; i != To::rank; ++i)
    if (From::dims[i] != To::dims[i] && From::dims[i] != dyn && To::dims[i] != dyn) return false;
  return true;
}();

}  // namespace detail

// A non-owning, row-major view of contiguous elements, like std::mdspan with
// layout_right. `T` may be const for a read-only view. `Space` says where the elements are:
// in host memory (the default), which the view's own accessors read, or elsewhere, such as
// a GPU's memory (loom::cuda::device_view), where only that device's code may touch them.
template <class T, extents_type E = extents<dyn>, memory_space Space = host_memory>
class tensor_view {
 public:
  using element_type = T;
  using value_type = std::remove_const_t<T>;
  using extents_type = E;
  using memory_space = Space;
  static_assert(dtype<value_type>,
                "loom: tensors hold float, double, loom::bf16, loom::f16, int32_t or bool");
  static constexpr std::size_t rank = E::rank;

  // An empty view: no data, and 0 for every dynamic extent.
  tensor_view() : shape_(detail::static_shape<E>()) {}
  tensor_view(T* data, const loom::shape& s) : data_(data), shape_(detail::checked_shape<E>(s)) {}
  template <class... I>
  requires(std::is_integral_v<I>&&...) explicit tensor_view(T* data, I... dims)
      : data_(data), shape_(detail::make_shape<E>(dims...)) {}

  // A mutable view converts to a read-only one, and a static shape to a dynamic one (or back,
  // checked at run time).
  template <class U, loom::extents_type F>
  requires(std::is_convertible_v<U (*)[], T (*)[]> &&
           !std::is_same_v<tensor_view<U, F, Space>, tensor_view> &&
           detail::extents_may_match<F, E>) tensor_view(const tensor_view<U, F, Space>& other)
      : tensor_view(other.data(), other.shape()) {}

  T* data() const { return data_; }
  const loom::shape& shape() const { return shape_; }
  std::size_t size() const { return shape_.size(); }
  std::size_t extent(std::size_t i) const { return shape_.dims[i]; }
  T* begin() const requires Space::host_accessible { return data_; }
  T* end() const requires Space::host_accessible { return data_ + size(); }

  template <class... I>
  requires(Space::host_accessible && sizeof...(I) == E::rank && (std::is_integral_v<I> && ...)) T&
  operator()(I... index) const {
    std::size_t offset = 0, axis = 0;
    ((offset = offset * shape_.dims[axis++] + static_cast<std::size_t>(index)), ...);
    return data_[offset];
  }

 private:
  T* data_ = nullptr;
  loom::shape shape_;
};

// An owning tensor with 64-byte aligned storage in its memory space: on the host from loom's
// buffer pool, copyable (copies are deep, as for Eigen's dense objects); elsewhere from that
// space's allocator, in the order of the context (the stream) it was made for, and move-only,
// since copying device memory needs a stream and is explicit. Moves are free.
// (T is checked by a static_assert, not constrained, so that a tensor of another element
// type fails with loom's message rather than a constraint's.)
template <class T, extents_type E = extents<dyn>, memory_space Space = host_memory>
class tensor {
 public:
  using element_type = T;
  using value_type = T;
  using extents_type = E;
  using memory_space = Space;
  static_assert(dtype<T>,
                "loom: tensors hold float, double, loom::bf16, loom::f16, int32_t or bool");
  using context_type = typename Space::context;
  static constexpr std::size_t rank = E::rank;
  static constexpr bool host_accessible = Space::host_accessible;

  tensor() requires(E::rank_dynamic == 0 && host_accessible) : tensor(detail::static_shape<E>()) {}
  explicit tensor(const loom::shape& s, context_type context = {})
      : view_(allocate(detail::checked_shape<E>(s).size(), context), s), context_(context) {}
  template <class... I>
  requires(sizeof...(I) > 0 && (std::is_integral_v<I> && ...)) explicit tensor(I... dims)
      : tensor(detail::make_shape<E>(dims...)) {}

  tensor(const tensor& other) requires host_accessible : tensor(other.shape()) {
    std::copy(other.begin(), other.end(), begin());
  }
  tensor(const tensor& other) requires(!host_accessible) = delete;
  tensor(tensor&& other) noexcept
      : view_(std::exchange(other.view_, {})), context_(other.context_) {}
  tensor& operator=(tensor other) noexcept {
    std::swap(view_, other.view_);
    std::swap(context_, other.context_);
    return *this;
  }
  // Nothing can be thrown from here; a failed free on a device only leaks.
  ~tensor() {
    if (view_.data()) Space::release(view_.data(), bytes(size()), context_);
  }

  T* data() { return view_.data(); }
  const T* data() const { return view_.data(); }
  const loom::shape& shape() const { return view_.shape(); }
  std::size_t size() const { return view_.size(); }
  std::size_t extent(std::size_t i) const { return view_.extent(i); }
  // The stream (or other context) the tensor's memory was allocated in, and is freed in.
  context_type stream() const requires(!host_accessible) { return context_; }

  // Sets every element; a new tensor's elements are uninitialised, as Eigen's are.
  tensor& fill(T value) requires host_accessible {
    std::fill(begin(), end(), value);
    return *this;
  }
  T* begin() requires host_accessible { return data(); }
  T* end() requires host_accessible { return data() + size(); }
  const T* begin() const requires host_accessible { return data(); }
  const T* end() const requires host_accessible { return data() + size(); }

  template <class... I>
  T& operator()(I... index) requires host_accessible {
    return view_(index...);
  }
  template <class... I>
  const T& operator()(I... index) const requires host_accessible {
    return view_(index...);
  }

  // Views of an lvalue tensor; a view of a temporary would dangle, so that does not compile.
  // A view may have dynamic extents where the tensor's are static.
  tensor_view<T, E, Space> view() & { return view_; }
  tensor_view<const T, E, Space> view() const& { return view_; }
  tensor_view<const T, E, Space> view() && = delete;
  template <class U, loom::extents_type F>
  requires(std::is_same_v<U, T>&& detail::extents_may_match<E, F>)
  operator tensor_view<U, F, Space>() & {
    return {data(), shape()};
  }
  template <class U, loom::extents_type F>
  requires(std::is_same_v<U, const T>&& detail::extents_may_match<E, F>)
  operator tensor_view<U, F, Space>() const& {
    return {data(), shape()};
  }
  template <class U, loom::extents_type F>
  operator tensor_view<U, F, Space>() && = delete;

 private:
  static std::size_t bytes(std::size_t n) { return n * sizeof(T); }
  static T* allocate(std::size_t n, context_type context) {
    return static_cast<T*>(Space::allocate(bytes(n), context));
  }

  tensor_view<T, E, Space> view_;
  [[no_unique_address]] context_type context_{};
};

// Whether T is a tensor or view in memory space Space.
template <class T, class Space>
inline constexpr bool is_tensor_in_v = false;
template <class T, class E, class Space>
inline constexpr bool is_tensor_in_v<tensor<T, E, Space>, Space> = true;
template <class T, class E, class Space>
inline constexpr bool is_tensor_in_v<tensor_view<T, E, Space>, Space> = true;

template <class T, class Space>
concept tensor_in = is_tensor_in_v<std::remove_cvref_t<T>, Space>;

// Anything eager code and compiled CPU models accept as a concrete tensor argument.
template <class T>
concept tensor_like = tensor_in<T, host_memory>;

}  // namespace loom
