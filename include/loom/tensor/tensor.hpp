#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "loom/core/dtype.hpp"
#include "loom/core/errors.hpp"
#include "loom/core/shape.hpp"
#include "loom/tensor/pool.hpp"

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

// The shape of an empty tensor with extents E: the static extents, and 0 for dynamic ones.
template <extents_type E>
constexpr shape static_shape() {
  shape s;
  s.rank = E::rank;
  for (std::size_t i = 0; i != E::rank; ++i) s.dims[i] = E::dims[i] == dyn ? 0 : E::dims[i];
  return s;
}

}  // namespace detail

// A non-owning, row-major view of contiguous elements, like std::mdspan with
// layout_right. `T` may be const for a read-only view.
template <class T, extents_type E = extents<dyn>>
class tensor_view {
 public:
  using element_type = T;
  using value_type = std::remove_const_t<T>;
  using extents_type = E;
  static_assert(dtype<value_type>, "loom: tensors hold float, double, int32_t or bool");
  static constexpr std::size_t rank = E::rank;

  // An empty view: no data, and 0 for every dynamic extent.
  tensor_view() : shape_(detail::static_shape<E>()) {}
  tensor_view(T* data, const loom::shape& s) : data_(data), shape_(detail::checked_shape<E>(s)) {}
  template <class... I>
  requires(std::is_integral_v<I>&&...) explicit tensor_view(T* data, I... dims)
      : data_(data), shape_(detail::make_shape<E>(dims...)) {}

  // A mutable view converts to a read-only one, and a static shape to a dynamic one.
  template <class U, loom::extents_type F>
  requires(std::is_convertible_v<U (*)[], T (*)[]> &&
           !std::is_same_v<tensor_view<U, F>, tensor_view>)
      tensor_view(const tensor_view<U, F>& other)
      : tensor_view(other.data(), other.shape()) {}

  T* data() const { return data_; }
  const loom::shape& shape() const { return shape_; }
  std::size_t size() const { return shape_.size(); }
  std::size_t extent(std::size_t i) const { return shape_.dims[i]; }
  T* begin() const { return data_; }
  T* end() const { return data_ + size(); }

  template <class... I>
  requires(sizeof...(I) == E::rank && (std::is_integral_v<I> && ...)) T& operator()(
      I... index) const {
    std::size_t offset = 0, axis = 0;
    ((offset = offset * shape_.dims[axis++] + static_cast<std::size_t>(index)), ...);
    return data_[offset];
  }

 private:
  T* data_ = nullptr;
  loom::shape shape_;
};

// An owning tensor with 64-byte aligned storage from loom's buffer pool. Copies are deep,
// as for Eigen's dense objects; moves are free.
template <dtype T, extents_type E = extents<dyn>>
class tensor {
 public:
  using element_type = T;
  using value_type = T;
  using extents_type = E;
  static constexpr std::size_t rank = E::rank;

  tensor() requires(E::rank_dynamic == 0) : tensor(detail::static_shape<E>()) {}
  explicit tensor(const loom::shape& s) : view_(allocate(detail::checked_shape<E>(s).size()), s) {}
  template <class... I>
  requires(sizeof...(I) > 0 && (std::is_integral_v<I> && ...)) explicit tensor(I... dims)
      : tensor(detail::make_shape<E>(dims...)) {}

  tensor(const tensor& other) : tensor(other.shape()) {
    std::copy(other.begin(), other.end(), begin());
  }
  tensor(tensor&& other) noexcept : view_(std::exchange(other.view_, {})) {}
  tensor& operator=(tensor other) noexcept {
    std::swap(view_, other.view_);
    return *this;
  }
  ~tensor() {
    if (view_.data()) buffer_pool::instance().release(view_.data(), bytes(size()));
  }

  T* data() { return view_.data(); }
  const T* data() const { return view_.data(); }
  const loom::shape& shape() const { return view_.shape(); }
  std::size_t size() const { return view_.size(); }
  std::size_t extent(std::size_t i) const { return view_.extent(i); }
  // Sets every element; a new tensor's elements are uninitialised, as Eigen's are.
  tensor& fill(T value) {
    std::fill(begin(), end(), value);
    return *this;
  }
  T* begin() { return data(); }
  T* end() { return data() + size(); }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size(); }

  template <class... I>
  T& operator()(I... index) {
    return view_(index...);
  }
  template <class... I>
  const T& operator()(I... index) const {
    return view_(index...);
  }

  // Views of an lvalue tensor; a view of a temporary would dangle, so that does not compile.
  // A view may have dynamic extents where the tensor's are static.
  tensor_view<T, E> view() & { return view_; }
  tensor_view<const T, E> view() const& { return view_; }
  tensor_view<const T, E> view() && = delete;
  template <class U, loom::extents_type F>
  requires(std::is_same_v<U, T>&& F::rank == E::rank) operator tensor_view<U, F>() & {
    return {data(), shape()};
  }
  template <class U, loom::extents_type F>
  requires(std::is_same_v<U, const T>&& F::rank == E::rank) operator tensor_view<U, F>() const& {
    return {data(), shape()};
  }
  template <class U, loom::extents_type F>
  operator tensor_view<U, F>() && = delete;

 private:
  static std::size_t bytes(std::size_t n) { return n * sizeof(T); }
  static T* allocate(std::size_t n) {
    return static_cast<T*>(buffer_pool::instance().allocate(bytes(n)));
  }

  tensor_view<T, E> view_;
};

template <class T>
inline constexpr bool is_tensor_v = false;
template <class T, class E>
inline constexpr bool is_tensor_v<tensor<T, E>> = true;
template <class T, class E>
inline constexpr bool is_tensor_v<tensor_view<T, E>> = true;

// Anything eager code and compiled models accept as a concrete tensor argument.
template <class T>
concept tensor_like = is_tensor_v<std::remove_cvref_t<T>>;

}  // namespace loom
