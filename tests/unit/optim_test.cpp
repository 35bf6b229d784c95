// loom::sgd and loom::adam: every parameter and its state updated in place by one fused model
// per step, against double-precision reference loops of torch.optim.SGD's and
// torch.optim.Adam's update rules, over several steps with changing gradients, on
// parameters of two dtypes and shapes at once.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "test_support.hpp"

using loom::dyn;
using loom::extents;
using loom_test::fill_normal;

namespace {

using matrix = loom::tensor<float, extents<dyn, 3>>;
using vector = loom::tensor<double, extents<5>>;

// The parameters, their gradients at each step, and what the reference keeps per element.
struct problem {
  matrix w{4};
  vector b;
  std::vector<matrix> gw;
  std::vector<vector> gb;
  problem() {
    fill_normal(w, 1, 0.0, 1.0);
    fill_normal(b, 2, 0.0, 1.0);
    for (std::uint32_t s = 0; s < 4; ++s) {
      gw.emplace_back(4);
      gb.emplace_back();
      fill_normal(gw.back(), 10 + s, 0.0, 1.0);
      fill_normal(gb.back(), 20 + s, 0.0, 1.0);
    }
  }
};

// Reference: the parameter values after each step, element by element, in double.
template <class Update, class P, class G>
std::vector<double> reference(const P& p,
                              const std::vector<G>& grads,
                              std::size_t steps,
                              Update update) {
  std::vector<double> x(p.begin(), p.end()), s1(x.size()), s2(x.size());
  for (std::size_t t = 1; t <= steps; ++t)
    for (std::size_t i = 0; i < x.size(); ++i)
      update(x[i], double(grads[t - 1].data()[i]), s1[i], s2[i], t);
  return x;
}

// f32 parameters are updated in f32: each step rounds, a few ulps of the value per step.
template <class P>
void check_params(const P& got, const std::vector<double>& want, const char* what) {
  const double tol = std::is_same_v<typename P::value_type, float> ? 1e-6 : 1e-14;
  LOOM_CHECK_REPORT(loom_test::compare_with(
      got, [&](std::size_t i) { return want[i]; }, {tol, tol}, what));
}

}  // namespace

TEST_CASE("sgd with momentum updates every parameter in place, as torch.optim.SGD") {
  problem pr;
  const double lr = 0.05, momentum = 0.9;
  auto sgd_step = [&](double& x, double g, double& v, double&, std::size_t) {
    v = momentum * v + g;
    x -= lr * v;
  };
  const auto want_w = reference(pr.w, pr.gw, 4, sgd_step);
  const auto want_b = reference(pr.b, pr.gb, 4, sgd_step);
  loom::sgd opt({.lr = lr, .momentum = momentum}, pr.w, pr.b);
  for (std::size_t t = 0; t < 4; ++t) opt.step(pr.gw[t], pr.gb[t]);
  CHECK(opt.steps() == 4);
  check_params(pr.w, want_w, "sgd: w");
  check_params(pr.b, want_b, "sgd: b");
}

TEST_CASE("adam updates every parameter in place, as torch.optim.Adam") {
  problem pr;
  const loom::adam_options o{.lr = 0.01, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6};
  auto adam_step = [&](double& x, double g, double& m, double& v, std::size_t t) {
    m = o.beta1 * m + (1 - o.beta1) * g;
    v = o.beta2 * v + (1 - o.beta2) * g * g;
    const double m_hat = m / (1 - std::pow(o.beta1, double(t)));
    const double v_hat = v / (1 - std::pow(o.beta2, double(t)));
    x -= o.lr * m_hat / (std::sqrt(v_hat) + o.eps);
  };
  const auto want_w = reference(pr.w, pr.gw, 4, adam_step);
  const auto want_b = reference(pr.b, pr.gb, 4, adam_step);
  loom::adam opt(o, pr.w, pr.b);
  // Gradients as one tuple, as grad returns them for several inputs.
  for (std::size_t t = 0; t < 4; ++t) opt.step(std::tie(pr.gw[t], pr.gb[t]));
  check_params(pr.w, want_w, "adam: w");
  check_params(pr.b, want_b, "adam: b");
}

TEST_CASE("a reset optimizer takes the same steps as a new one") {
  problem pr;
  const std::vector<float> w0(pr.w.begin(), pr.w.end());
  const std::vector<double> b0(pr.b.begin(), pr.b.end());
  loom::adam opt({.lr = 0.01, .beta1 = 0.8, .beta2 = 0.95}, pr.w, pr.b);
  auto two_steps = [&] {
    opt.step(pr.gw[0], pr.gb[0]);
    opt.step(pr.gw[1], pr.gb[1]);
  };
  two_steps();
  const std::vector<float> w_first(pr.w.begin(), pr.w.end());
  const std::vector<double> b_first(pr.b.begin(), pr.b.end());
  opt.step(pr.gw[2], pr.gb[2]);  // moves the moving averages and the step count on
  opt.reset();
  CHECK(opt.steps() == 0);
  std::copy(w0.begin(), w0.end(), pr.w.begin());
  std::copy(b0.begin(), b0.end(), pr.b.begin());
  two_steps();
  CHECK(opt.steps() == 2);
  // The same arithmetic on the same values: equal to the bit.
  CHECK(std::vector<float>(pr.w.begin(), pr.w.end()) == w_first);
  CHECK(std::vector<double>(pr.b.begin(), pr.b.end()) == b_first);
  CHECK(w_first != w0);
}

TEST_CASE("an optimizer's learning rate may change between steps") {
  problem pr;
  const std::vector<double> before(pr.b.begin(), pr.b.end());
  loom::sgd opt({.lr = 0.1}, pr.b);
  opt.set_lr(0.5);
  opt.step(pr.gb[0]);
  for (std::size_t i = 0; i < before.size(); ++i)
    CHECK(pr.b.data()[i] == Approx(before[i] - 0.5 * pr.gb[0].data()[i]).epsilon(1e-15));
}
