#pragma once

#include <concepts>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace loom {

// The element types a tensor may hold.
template <class T>
concept dtype = std::same_as<T, float> || std::same_as<T, double> ||
    std::same_as<T, std::int32_t> || std::same_as<T, bool>;

template <dtype T>
constexpr std::string_view dtype_name() {
  if constexpr (std::same_as<T, float>)
    return "f32";
  else if constexpr (std::same_as<T, double>)
    return "f64";
  else if constexpr (std::same_as<T, std::int32_t>)
    return "i32";
  else
    return "bool";
}

namespace detail {
template <class T>
constexpr int dtype_rank = std::same_as<T, bool>           ? 0
                           : std::same_as<T, std::int32_t> ? 1
                           : std::same_as<T, float>        ? 2
                                                           : 3;
}

// Type promotion of two tensors, as NumPy does for these four types: bool < i32 < f32 < f64.
template <dtype A, dtype B>
using promote_t = std::conditional_t<(detail::dtype_rank<A> >= detail::dtype_rank<B>), A, B>;

// Arithmetic never happens on bool: it counts as i32, as `true + true == 2` in C++.
template <dtype T>
using arithmetic_t = std::conditional_t<std::same_as<T, bool>, std::int32_t, T>;

// Transcendental functions and true division of integers produce f32, as in PyTorch.
template <dtype T>
using floating_t = std::conditional_t<std::is_floating_point_v<T>, T, float>;

// A C++ scalar that meets a tensor is "weak": it adopts the tensor's dtype unless that would
// lose its fractional part, so `x * 2.0` keeps an f32 tensor f32 and `i * 0.5` becomes f32.
template <dtype Tensor, class Scalar>
using weak_promote_t =
    std::conditional_t<std::is_floating_point_v<Scalar> && !std::is_floating_point_v<Tensor>,
                       float,
                       std::conditional_t<std::same_as<Tensor, bool> && !std::same_as<Scalar, bool>,
                                          std::int32_t,
                                          Tensor>>;

// C++ scalar types accepted beside tensors, and the dtype each one stands for on its own.
template <class S>
concept scalar = std::is_arithmetic_v<S>;

template <scalar S>
using scalar_dtype_t = std::conditional_t<
    std::same_as<S, bool>,
    bool,
    std::conditional_t<std::is_integral_v<S>,
                       std::int32_t,
                       std::conditional_t<std::same_as<S, double>, double, float>>>;

}  // namespace loom
