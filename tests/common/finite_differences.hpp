#pragma once

// Gradient checks against central differences, for the loom::grad tests: the loss model and
// its gradient model are compiled for the inputs' types, and each element's derivative is
// compared with (f(x + h) - f(x - h)) / 2h in double precision. Host code only.

#include <loom/loom.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "compare.hpp"
#include "random_fill.hpp"

namespace loom_test {

// h = 1e-5 (1 + |x|): the truncation error is about h^2 |f'''| / 6 and the rounding error
// about 2^-53 |f| / h, both near 1e-10 for the losses used here (values of order 1 to 100).
// The bound used is 1e-6 absolute plus 1e-6 of the derivative.
inline constexpr tolerance difference_tol{1e-6, 1e-6};

// A double tensor of the given extents, drawn from N(0, 1) with `seed`.
template <class E, class... D>
loom::tensor<double, E> normal_tensor(std::uint32_t seed, D... dims) {
  loom::tensor<double, E> t(dims...);
  fill_normal(t, seed, 0.0, 1.0);
  return t;
}

template <class R>
auto as_tuple(R&& r) {
  if constexpr (requires { std::tuple_size<std::remove_cvref_t<R>>::value; })
    return std::forward<R>(r);
  else
    return std::make_tuple(std::forward<R>(r));
}

template <class Loss, class... Inputs>
double loss_at(const Loss& loss, const Inputs&... inputs) {
  return double(*loss(inputs...).data());
}

// The positions of the floating-point inputs among Inputs: the ones a gradient is taken of.
template <class... Inputs>
constexpr auto floating_positions() {
  constexpr bool floating[] = {std::is_floating_point_v<typename Inputs::value_type>...};
  constexpr std::size_t count =
      (std::size_t(std::is_floating_point_v<typename Inputs::value_type>) + ...);
  std::array<std::size_t, count> at{};
  for (std::size_t i = 0, n = 0; i < sizeof...(Inputs); ++i)
    if (floating[i]) at[n++] = i;
  return at;
}

// Checks loom::grad(model, wrt<...>) with respect to every floating-point input (integer
// inputs, such as indices, are data), compiled for the input declarations Decls (loom::input,
// for named extents) at `inputs` (double tensors), against central differences of the model,
// for every element of those inputs.
template <class... Decls, class Model, class... Inputs>
void check_gradient_as(const Model& model, Inputs&... inputs) {
  constexpr auto wrt = floating_positions<Inputs...>();
  const auto loss = loom::compile(model, Decls{}...);
  const auto grads = [&]<std::size_t... K>(std::index_sequence<K...>) {
    return loom::compile(loom::grad(model, loom::wrt<wrt[K]...>), Decls{}...);
  }
  (std::make_index_sequence<wrt.size()>{});
  const auto got = as_tuple(grads(inputs...));
  auto check_input = [&](auto& x, const auto& g, std::size_t k) {
    REQUIRE(g.shape() == x.shape());
    LOOM_CHECK_REPORT(compare_with(
        g,
        [&](std::size_t i) {
          const double v = double(x.data()[i]), h = 1e-5 * (1 + std::abs(v));
          x.data()[i] = v + h;
          const double up = loss_at(loss, inputs...);
          x.data()[i] = v - h;
          const double down = loss_at(loss, inputs...);
          x.data()[i] = v;
          return (up - down) / (2 * h);
        },
        difference_tol,
        "gradient of input " + std::to_string(k)));
  };
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    (check_input(std::get<wrt[K]>(std::tie(inputs...)), std::get<K>(got), wrt[K]), ...);
  }
  (std::make_index_sequence<wrt.size()>{});
}

// The same, with the inputs' own types as the declarations.
template <class Model, class... Inputs>
void check_gradient(const Model& model, Inputs&... inputs) {
  check_gradient_as<loom::input<typename Inputs::value_type, typename Inputs::extents_type>...>(
      model, inputs...);
}

}  // namespace loom_test
