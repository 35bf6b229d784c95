#pragma once

// Every view of include/loom/api/views.hpp (transpose, permute, reshape, slice,
// broadcast_to, expand_dims) on every backend (backends.hpp): returned alone, composed, and read by
// an element-wise op; over dynamic extents and a static one. A view moves elements without
// arithmetic, so every result is exact.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>

#include "backends.hpp"
#include "models.hpp"

namespace loom_typed {

// Shapes: a single element; odd extents; rows of 257 (packs and a tail).
struct view_dims {
  std::size_t m, n, a, c;
};
inline constexpr view_dims view_shapes[] = {{1, 1, 1, 1}, {6, 11, 3, 2}, {129, 257, 2, 130}};

// The length of Python's range(begin, end, step) over an axis of `extent`, the bounds
// clamped as slices clamp them (a negative bound counts from the end).
inline std::size_t slice_length(std::size_t extent,
                                std::ptrdiff_t begin,
                                std::ptrdiff_t end,
                                std::ptrdiff_t step) {
  const auto clamp = [&](std::ptrdiff_t v) {
    if (v < 0) v += std::ptrdiff_t(extent);
    return std::clamp<std::ptrdiff_t>(v, 0, std::ptrdiff_t(extent));
  };
  const std::ptrdiff_t b = clamp(begin), e = clamp(end);
  return e > b ? std::size_t((e - b + step - 1) / step) : 0;
}

// A reference over `shape` whose element at multi-index i is f(i).
template <class F>
reference indexed_reference(const loom::shape& shape, F&& f) {
  return reference_of(shape,
                      [&](std::size_t flat) { return f(loom_test::unflatten(shape, flat)); });
}

}  // namespace loom_typed

TEMPLATE_PRODUCT_TEST_CASE("typed: views transpose permute reshape slice broadcast_to expand_dims",
                           "[typed][views][broadcast]",
                           LOOM_TYPED_BACKENDS,
                           LOOM_TYPED_FLOATS) {
  using namespace loom_typed;
  using B = typename TestType::backend;
  using T = typename TestType::value_type;
  using y_extents = extents<dyn, 5, dyn>;
  auto model = B::compile(view_model,
                          loom::input<T, extents<dyn, dyn>>{},
                          loom::input<T, y_extents>{},
                          loom::input<T, extents<dyn, dyn>>{});
  std::uint32_t seed = 80;
  for (const auto& [m, n, a, c] : view_shapes) {
    const auto x = random_tensor<T, extents<dyn, dyn>>(make_shape({m, n}), seed++, -9, 9);
    const auto y = random_tensor<T, y_extents>(make_shape({a, 5, c}), seed++, -9, 9);
    const auto col = random_tensor<T, extents<dyn, dyn>>(make_shape({m, 1}), seed++, -9, 9);
    const auto got = B::run(model, x, y, col);
    const std::string what = " of x " + x.shape().to_string() + ", y " + y.shape().to_string();
    const auto xa = [&](std::size_t i, std::size_t j) {
      return at(x, i * n + j);
    };
    const auto ya = [&](std::size_t i, std::size_t j, std::size_t k) {
      return at(y, (i * 5 + j) * c + k);
    };
    const auto check = [&](const auto& result, const reference& want, const std::string& name) {
      LOOM_CHECK_REPORT(compare(result, want, {}, label<TestType>(name + what)));
    };
    using loom_test::index_t;
    check(std::get<0>(got),
          indexed_reference(make_shape({n, m}), [&](const index_t& i) { return xa(i[1], i[0]); }),
          "transpose(x)");
    check(std::get<1>(got),
          indexed_reference(make_shape({a, c, 5}),
                            [&](const index_t& i) { return ya(i[0], i[2], i[1]); }),
          "transpose(y)");
    check(std::get<2>(got),
          indexed_reference(make_shape({c, a, 5}),
                            [&](const index_t& i) { return ya(i[1], i[2], i[0]); }),
          "permute<2, 0, 1>(y)");
    check(std::get<3>(got),
          reference_of(make_shape({a * c, 5}), [&](std::size_t i) { return at(y, i); }),
          "reshape<[?, 5]>(y)");
    const std::size_t cols = slice_length(n, 1, -1, 3);
    check(std::get<4>(got),
          indexed_reference(make_shape({m, cols}),
                            [&](const index_t& i) { return xa(i[0], 1 + 3 * i[1]); }),
          "slice<1, 1, -1, 3>(x)");
    check(std::get<5>(got),
          indexed_reference(make_shape({slice_length(m, 1, std::ptrdiff_t(m), 2), n}),
                            [&](const index_t& i) { return xa(1 + 2 * i[0], i[1]); }),
          "slice<0, 1, end, 2>(x)");
    const std::size_t tail = slice_length(c, -3, std::ptrdiff_t(c), 1);
    check(std::get<6>(got),
          indexed_reference(make_shape({a, 5, tail}),
                            [&](const index_t& i) { return ya(i[0], i[1], c - tail + i[2]); }),
          "slice<2, -3>(y)");
    check(std::get<7>(got),
          indexed_reference(make_shape({4, m, 9}), [&](const index_t& i) { return at(col, i[1]); }),
          "broadcast_to<[4, ?, 9]>(c)");
    check(std::get<8>(got),
          reference_of(make_shape({n * m}), [&](std::size_t i) { return 2 * xa(i % m, i / m); }),
          "reshape<[?]>(transpose(x)) * 2");
    check(std::get<9>(got),
          indexed_reference(make_shape({1, n, 1, m}),
                            [&](const index_t& i) { return xa(i[3], i[1]); }),
          "expand_dims<0, 2>(transpose(x))");
  }
}
