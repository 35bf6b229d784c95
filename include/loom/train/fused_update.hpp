#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/api/compile.hpp"
#include "loom/tensor/tensor.hpp"

// What every optimizer of loom shares: a rule's update of all parameters compiled into one
// model, run in place over the parameters and the rule's state (each element read, then
// written: see the guide's "Running in place"), one call per step.
namespace loom::train {

template <class P>
P zeros_like(const P& p) {
  P z(p.shape());
  z.fill(typename P::value_type(0));
  return z;
}

// Rule declares `states` (tensors kept per parameter, zeros at first), `scalars` (rank-0
// inputs per parameter, computed on the host each step: scalar_values(step)), and
// update(p, g, state..., scalar...) -> tuple of the new p and state..., in traced ops.
template <class Rule, class... P>
class fused_update {
  static constexpr std::size_t n = sizeof...(P);
  static constexpr std::size_t tensors = (2 + Rule::states) * n;  // p, g, state
  template <std::size_t K>
  using param_t = std::tuple_element_t<K % n, std::tuple<P...>>;
  template <std::size_t K>
  using input_t =
      std::conditional_t<(K < tensors),
                         input<typename param_t<K>::value_type, typename param_t<K>::extents_type>,
                         input<typename param_t<K>::value_type, extents<>>>;

  static auto compile_update(const Rule& rule) {
    auto update = [rule](const auto&... a) {
      const auto in = std::tie(a...);
      return [&]<std::size_t... I>(std::index_sequence<I...>) {
        // For each parameter, its new value and state, then regrouped: every new parameter,
        // then every first state, and so on, as run() writes them.
        const auto per_param = std::make_tuple(param_update<I>(rule, in)...);
        const auto nth_of_each = [&]<std::size_t S>(std::integral_constant<std::size_t, S>) {
          return std::make_tuple(std::get<S>(std::get<I>(per_param))...);
        };
        return [&]<std::size_t... S>(std::index_sequence<S...>) {
          return std::tuple_cat(nth_of_each(std::integral_constant<std::size_t, S>{})...);
        }
        (std::make_index_sequence<1 + Rule::states>{});
      }
      (std::make_index_sequence<n>{});
    };
    return [&]<std::size_t... K>(std::index_sequence<K...>) {
      return loom::compile(update, input_t<K>{}...);
    }
    (std::make_index_sequence<tensors + Rule::scalars * n>{});
  }

  template <std::size_t I, class In>
  static auto param_update(const Rule& rule, const In& in) {
    return [&]<std::size_t... S, std::size_t... C>(std::index_sequence<S...>,
                                                   std::index_sequence<C...>) {
      return rule.update(std::get<I>(in),
                         std::get<n + I>(in),
                         std::get<(2 + S) * n + I>(in)...,
                         std::get<tensors + C * n + I>(in)...);
    }
    (std::make_index_sequence<Rule::states>{}, std::make_index_sequence<Rule::scalars>{});
  }

  using model_type = decltype(compile_update(std::declval<const Rule&>()));

 public:
  fused_update(const Rule& rule, P&... params)
      : rule_(rule),
        params_(&params...),
        states_(zero_states(params...)),
        model_(compile_update(rule)) {}

  // One step: every parameter and its state updated in place, from gradients of the
  // parameters' dtypes and shapes (in the parameters' order, or as one tuple).
  template <class... G>
  requires(sizeof...(G) == n) void step(const G&... grads) {
    const auto scalar_values = rule_.scalar_values(steps_ + 1);
    // Scalar C of every parameter, then scalar C + 1, as the model's inputs are ordered.
    const auto per_param = [](double value) {
      return std::make_tuple(scalar_tensor<P>(value)...);
    };
    const auto scalars = std::apply(
        [&](auto... value) { return std::tuple_cat(per_param(value)...); }, scalar_values);
    std::apply(
        [&](auto*... p) {
          auto states = flat_states();
          std::apply(
              [&](auto&... s) {
                std::apply(
                    [&](const auto&... c) {
                      model_.run(std::tie(*p..., s...), *p..., grads..., s..., c...);
                    },
                    scalars);
              },
              states);
        },
        params_);
    ++steps_;  // only once the step ran: a call that threw changed nothing
  }
  template <class... G>
  void step(const std::tuple<G...>& grads) {
    std::apply([this](const auto&... g) { step(g...); }, grads);
  }

  // The steps taken so far.
  std::size_t steps() const { return steps_; }
  const Rule& rule() const { return rule_; }
  // The learning rate of the next steps (a schedule's). The other options are fixed when the
  // update is compiled: they are constants of its model.
  void set_lr(double lr) { rule_.options.lr = lr; }
  // The threads the update runs on (0: loom's default), as a compiled model's set_threads.
  void set_threads(int n) { model_.set_threads(n); }

 private:
  template <class Param>
  static tensor<typename Param::value_type, extents<>> scalar_tensor(double value) {
    tensor<typename Param::value_type, extents<>> t;
    *t.data() = typename Param::value_type(value);
    return t;
  }

  // Rule::states sets of zeros, each one tensor per parameter.
  static auto zero_states(const P&... params) {
    return [&]<std::size_t... S>(std::index_sequence<S...>) {
      return std::make_tuple(((void)S, std::make_tuple(zeros_like(params)...))...);
    }
    (std::make_index_sequence<Rule::states>{});
  }

  // Every state tensor, as one tuple of references: all of the first state, then the next.
  auto flat_states() {
    return std::apply(
        [](auto&... per_state) {
          return std::tuple_cat(
              std::apply([](auto&... s) { return std::tie(s...); }, per_state)...);
        },
        states_);
  }

  Rule rule_;
  std::tuple<P*...> params_;
  decltype(zero_states(std::declval<const P&>()...)) states_;
  model_type model_;
  std::size_t steps_ = 0;
};

}  // namespace loom::train
