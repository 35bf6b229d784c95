#pragma once

#include <concepts>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "loom/core/half.hpp"

namespace loom {

// The two 16-bit floating-point storage types (core/half.hpp).
template <class T>
concept half_precision = std::same_as<T, bf16> || std::same_as<T, f16>;

// The floating-point dtypes: what transcendental functions, division and gradients produce.
template <class T>
concept floating = std::same_as<T, float> || std::same_as<T, double> || half_precision<T>;

// The element types a tensor may hold.
template <class T>
concept dtype = floating<T> || std::same_as<T, std::int32_t> || std::same_as<T, bool>;

// The type an element is computed in: f32 for the half-precision types (they are stored in
// 16 bits and computed in 32), the dtype itself for the others.
template <dtype T>
using compute_t = std::conditional_t<half_precision<T>, float, T>;

template <dtype T>
constexpr std::string_view dtype_name() {
  if constexpr (std::same_as<T, float>)
    return "f32";
  else if constexpr (std::same_as<T, double>)
    return "f64";
  else if constexpr (std::same_as<T, bf16>)
    return "bf16";
  else if constexpr (std::same_as<T, f16>)
    return "f16";
  else if constexpr (std::same_as<T, std::int32_t>)
    return "i32";
  else
    return "bool";
}

namespace detail {
template <class T>
constexpr int dtype_rank = std::same_as<T, bool>           ? 0
                           : std::same_as<T, std::int32_t> ? 1
                           : half_precision<T>             ? 2
                           : std::same_as<T, float>        ? 3
                                                           : 4;
}

// Type promotion of two tensors, as PyTorch does: bool < i32 < bf16, f16 < f32 < f64, and
// bf16 with f16 gives f32 (neither holds the other's values).
template <dtype A, dtype B>
using promote_t =
    std::conditional_t<half_precision<A> && half_precision<B> && !std::same_as<A, B>,
                       float,
                       std::conditional_t<(detail::dtype_rank<A> >= detail::dtype_rank<B>), A, B>>;

// Arithmetic never happens on bool: it counts as i32, as `true + true == 2` in C++.
template <dtype T>
using arithmetic_t = std::conditional_t<std::same_as<T, bool>, std::int32_t, T>;

// Transcendental functions and true division of integers produce f32, as in PyTorch.
template <dtype T>
using floating_t = std::conditional_t<floating<T>, T, float>;

// A C++ scalar that meets a tensor is "weak": it adopts the tensor's dtype unless that would
// lose its fractional part, so `x * 2.0` keeps an f32 (or bf16) tensor f32 (bf16) and
// `i * 0.5` becomes f32.
template <dtype Tensor, class Scalar>
using weak_promote_t =
    std::conditional_t<std::is_floating_point_v<Scalar> && !floating<Tensor>,
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
