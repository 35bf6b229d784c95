#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <tuple>

#include "loom/api/ops.hpp"
#include "loom/train/fused_update.hpp"

namespace loom {

struct adam_options {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

namespace train {

// Adam as torch.optim.Adam (no weight decay, no amsgrad): m and v are moving averages of g
// and g^2, and p = p - lr / (1 - beta1^t) m / (sqrt(v / (1 - beta2^t)) + eps) at step t.
struct adam_rule {
  // m, v; lr / (1 - beta1^t), 1 / (1 - beta2^t), beta1, 1 - beta1, beta2, 1 - beta2, eps.
  static constexpr std::size_t states = 2, scalars = 7;
  adam_options options;
  template <class Param, class Grad, class M, class V, class... S>
  auto update(const Param& p, const Grad& g, const M& m, const V& v, const S&... s) const {
    const auto [step, unbias, beta1, rest1, beta2, rest2, eps] = std::tie(s...);
    const auto m1 = beta1 * m + rest1 * g;
    const auto v1 = beta2 * v + rest2 * square(g);
    return std::make_tuple(p - step * m1 / (sqrt(v1 * unbias) + eps), m1, v1);
  }
  std::array<double, scalars> scalar_values(std::size_t t) const {
    const double t_d = double(t);
    const adam_options& o = options;
    return {o.lr / (1 - std::pow(o.beta1, t_d)),
            1 / (1 - std::pow(o.beta2, t_d)),
            o.beta1,
            1 - o.beta1,
            o.beta2,
            1 - o.beta2,
            o.eps};
  }
};

}  // namespace train

// adam(options, params...): one fused, in-place update of every parameter per step().
template <class... P>
class adam : public train::fused_update<train::adam_rule, P...> {
 public:
  explicit adam(adam_options options, P&... params)
      : train::fused_update<train::adam_rule, P...>(train::adam_rule{options}, params...) {}
  const adam_options& options() const { return this->rule().options; }
};
template <class... P>
adam(adam_options, P&...) -> adam<P...>;

}  // namespace loom
