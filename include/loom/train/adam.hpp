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
  static constexpr std::size_t states = 2,
                               scalars = 2;  // m, v; lr / (1 - beta1^t), 1 / (1 - beta2^t)
  adam_options options;
  template <class Param, class Grad, class M, class V, class Step, class Unbias>
  auto update(const Param& p,
              const Grad& g,
              const M& m,
              const V& v,
              const Step& step,
              const Unbias& unbias) const {
    const auto m1 = options.beta1 * m + (1 - options.beta1) * g;
    const auto v1 = options.beta2 * v + (1 - options.beta2) * square(g);
    return std::make_tuple(p - step * m1 / (sqrt(v1 * unbias) + options.eps), m1, v1);
  }
  std::array<double, 2> scalar_values(std::size_t t) const {
    const double t_d = double(t);
    return {options.lr / (1 - std::pow(options.beta1, t_d)),
            1 / (1 - std::pow(options.beta2, t_d))};
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
