#pragma once

#include <array>
#include <cstddef>
#include <tuple>

#include "loom/api/ops.hpp"
#include "loom/train/fused_update.hpp"

namespace loom {

struct sgd_options {
  double lr = 0.01;
  double momentum = 0;
};

namespace train {

// SGD with momentum as torch.optim.SGD (dampening 0, no Nesterov): v = momentum v + g,
// p = p - lr v. With momentum 0, v is g.
struct sgd_rule {
  static constexpr std::size_t states = 1, scalars = 2;  // velocity; lr, momentum
  sgd_options options;
  template <class Param, class Grad, class V, class Lr, class Momentum>
  auto update(
      const Param& p, const Grad& g, const V& v, const Lr& lr, const Momentum& momentum) const {
    const auto velocity = momentum * v + g;
    return std::make_tuple(p - lr * velocity, velocity);
  }
  std::array<double, scalars> scalar_values(std::size_t) const {
    return {options.lr, options.momentum};
  }
};

}  // namespace train

// sgd(options, params...): one fused, in-place update of every parameter per step().
template <class... P>
class sgd : public train::fused_update<train::sgd_rule, P...> {
 public:
  explicit sgd(sgd_options options, P&... params)
      : train::fused_update<train::sgd_rule, P...>(train::sgd_rule{options}, params...) {}
  const sgd_options& options() const { return this->rule().options; }
};
template <class... P>
sgd(sgd_options, P&...) -> sgd<P...>;

}  // namespace loom
