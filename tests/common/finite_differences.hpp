#pragma once

// Gradient checks against central differences, for the loom::grad tests: the loss model and
// its gradient model are compiled for the inputs' types, and each element's derivative is
// compared with (f(x + h) - f(x - h)) / 2h in double precision. Host code only.

#include <loom/loom.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
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

// Checks loom::grad(model, wrt<0, ..., n-1>), compiled for the input declarations Decls
// (loom::input, for named extents) at `inputs` (double tensors), against central differences
// of the model, for every element of every input.
template <class... Decls, class Model, class... Inputs>
void check_gradient_as(const Model& model, Inputs&... inputs) {
  const auto loss = loom::compile(model, Decls{}...);
  const auto grads = [&]<std::size_t... I>(std::index_sequence<I...>) {
    return loom::compile(loom::grad(model, loom::wrt<I...>), Decls{}...);
  }
  (std::index_sequence_for<Inputs...>{});
  const auto got = as_tuple(grads(inputs...));
  std::size_t k = 0;
  auto check_input = [&](auto& x, const auto& g) {
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
        "gradient of input " + std::to_string(k++)));
  };
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (check_input(inputs, std::get<I>(got)), ...);
  }
  (std::index_sequence_for<Inputs...>{});
}

// The same, with the inputs' own types as the declarations.
template <class Model, class... Inputs>
void check_gradient(const Model& model, Inputs&... inputs) {
  check_gradient_as<loom::input<typename Inputs::value_type, typename Inputs::extents_type>...>(
      model, inputs...);
}

}  // namespace loom_test
