#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

// An optimizer rule's update of every parameter, on traced values: what both the optimizer's
// own model (gradients in, loom::sgd / loom::adam) and a training step's model (gradients
// from the backward pass, loom::training_step) compute after the gradients.
namespace loom::train {

// Elements [Begin, Begin + Count) of a tuple, copied.
template <std::size_t Begin, std::size_t Count, class Tuple>
auto tuple_slice(const Tuple& t) {
  return [&]<std::size_t... K>(std::index_sequence<K...>) {
    return std::make_tuple(std::get<Begin + K>(t)...);
  }
  (std::make_index_sequence<Count>{});
}

// The dtypes of the parameters T..., each once, in the order they first appear: a rule's
// scalars come once per dtype (rank-0 values of it, shared by its parameters), so that no
// pass converts them per element. slot[i] is parameter i's dtype's place in that order.
template <class... T>
struct dtype_slots {
  static constexpr std::size_t n = sizeof...(T);
  template <class A>
  static constexpr std::array<bool, n> same_as{std::is_same_v<A, T>...};
  static constexpr std::array<std::array<bool, n>, n> same{same_as<T>...};
  static constexpr std::array<std::size_t, n> slot = [] {
    std::array<std::size_t, n> s{};
    std::size_t count = 0;
    for (std::size_t i = 0; i != n; ++i) {
      std::size_t first = i;
      for (std::size_t j = 0; j != i && first == i; ++j)
        if (same[i][j]) first = j;
      s[i] = first == i ? count++ : s[first];
    }
    return s;
  }();
  static constexpr std::size_t count = [] {
    std::size_t c = 0;
    for (std::size_t i = 0; i != n; ++i) c = std::max(c, slot[i] + 1);
    return c;
  }();
  static constexpr std::size_t first_in_slot(std::size_t k) {
    std::size_t i = 0;
    while (slot[i] != k) ++i;
    return i;
  }
  // The dtype of slot K: its first parameter's.
  template <std::size_t K>
  using dtype = std::tuple_element_t<first_in_slot(K), std::tuple<T...>>;
};

// The inputs a rule adds after N parameters of `Slots`' dtypes: its states (all of the first
// state, one per parameter, then the next), then its scalars, per dtype slot.
template <class Rule, std::size_t N, class Slots>
inline constexpr std::size_t rule_inputs = Rule::states* N + Rule::scalars* Slots::count;

template <class Params>
struct slots_of;
template <class... P>
struct slots_of<std::tuple<P...>> {
  using type = dtype_slots<typename P::value_type...>;
};

// Every parameter's update by `rule`, regrouped as the optimizer writes them: every new
// parameter, then every parameter's new first state, and so on. `params` and `grads` hold N
// values each, `extras` the rule_inputs values.
template <std::size_t N, class Rule, class Params, class Grads, class Extras>
auto apply_rule(const Rule& rule, const Params& params, const Grads& grads, const Extras& extras) {
  using slots = typename slots_of<Params>::type;
  const auto one = [&]<std::size_t I, std::size_t... S, std::size_t... C>(
      std::integral_constant<std::size_t, I>,
      std::index_sequence<S...>,
      std::index_sequence<C...>) {
    return rule.update(std::get<I>(params),
                       std::get<I>(grads),
                       std::get<S * N + I>(extras)...,
                       std::get<Rule::states * N + slots::slot[I] * Rule::scalars + C>(extras)...);
  };
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    const auto per_param = std::make_tuple(one(std::integral_constant<std::size_t, I>{},
                                               std::make_index_sequence<Rule::states>{},
                                               std::make_index_sequence<Rule::scalars>{})...);
    const auto nth_of_each = [&]<std::size_t S>(std::integral_constant<std::size_t, S>) {
      return std::make_tuple(std::get<S>(std::get<I>(per_param))...);
    };
    return [&]<std::size_t... S>(std::index_sequence<S...>) {
      return std::tuple_cat(nth_of_each(std::integral_constant<std::size_t, S>{})...);
    }
    (std::make_index_sequence<1 + Rule::states>{});
  }
  (std::make_index_sequence<N>{});
}

// The optimizer's own model: inputs are the gradients, the parameters, then the rule's.
template <class Rule, std::size_t N>
struct update_model {
  Rule rule;
  template <class... X>
  auto operator()(const X&... x) const {
    const auto in = std::tie(x...);
    const auto params = tuple_slice<N, N>(in);
    using slots = typename slots_of<std::remove_const_t<decltype(params)>>::type;
    return apply_rule<N>(
        rule, params, tuple_slice<0, N>(in), tuple_slice<2 * N, rule_inputs<Rule, N, slots>>(in));
  }
};

// A training step's results after its backward pass: the loss, then the update. The model's
// last N inputs are the parameters, of `Slots`' dtypes; the rule's inputs follow them.
template <class Rule, std::size_t N, class Slots>
struct update_after_gradients {
  static constexpr std::size_t extra_inputs = rule_inputs<Rule, N, Slots>;
  Rule rule;
  template <class Value, class Gradients, class Inputs>
  auto operator()(const Value& loss, const Gradients& grads, const Inputs& in) const {
    constexpr std::size_t params = std::tuple_size_v<Inputs> - extra_inputs - N;
    return std::tuple_cat(
        std::make_tuple(loss),
        apply_rule<N>(
            rule, tuple_slice<params, N>(in), grads, tuple_slice<params + N, extra_inputs>(in)));
  }
};

}  // namespace loom::train
