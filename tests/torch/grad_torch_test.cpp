// loom::grad against libtorch's autograd (Debian's libtorch 1.13) on the same weights and
// inputs, in double precision: an MLP classifier and the attention block of the examples.
#include <loom/loom.hpp>

#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "../../examples/attention_block.hpp"
#include "../common/compare.hpp"
#include "../common/random_fill.hpp"

namespace {

using loom::dyn;
using loom::extents;

// Both sides compute in f64 from the same values, summing in different orders: the
// gradients agree to a few ulps of their scale. 1e-12 relative to the largest entry of each.
constexpr double agree_tol = 1e-12;

template <class E>
loom::tensor<double, E> normal(std::uint32_t seed, loom::shape s, double stddev = 1.0) {
  loom::tensor<double, E> t(s);
  loom_test::fill_normal(t, seed, 0.0, stddev);
  return t;
}

// A copy of t for libtorch, that autograd tracks.
template <class T>
torch::Tensor leaf(const T& t) {
  std::vector<std::int64_t> sizes;
  for (std::size_t d = 0; d < t.shape().rank; ++d) sizes.push_back(std::int64_t(t.extent(d)));
  return torch::from_blob(const_cast<double*>(t.data()), sizes, torch::kFloat64)
      .clone()
      .requires_grad_(true);
}

// loom's gradient against torch's, relative to the largest entry of torch's.
template <class G>
void check_same(const G& got, const torch::Tensor& want, const std::string& what) {
  const torch::Tensor w = want.contiguous();
  REQUIRE(std::size_t(w.numel()) == got.size());
  const double scale = w.abs().max().item<double>();
  LOOM_CHECK_REPORT(loom_test::compare_with(
      got,
      [&](std::size_t i) { return w.data_ptr<double>()[i]; },
      loom_test::tolerance{0, agree_tol * scale},
      what));
}

struct batch;

}  // namespace

TEST_CASE("grad of an MLP classifier matches libtorch's autograd") {
  using rows = loom::dims<batch, loom::unnamed>;
  const auto mlp = [](auto x, auto w1, auto b1, auto w2, auto b2, auto target) {
    const auto h = loom::tanh(loom::matmul(x, w1) + b1);
    return loom::cross_entropy(loom::matmul(h, w2) + b2, target);
  };
  const auto grads = loom::compile(loom::grad(mlp, loom::wrt<0, 1, 2, 3, 4>),
                                   loom::input<double, extents<dyn, 8>, rows>{},
                                   loom::input<double, extents<8, 16>>{},
                                   loom::input<double, extents<16>>{},
                                   loom::input<double, extents<16, 4>>{},
                                   loom::input<double, extents<4>>{},
                                   loom::input<double, extents<dyn, 4>, rows>{});
  const auto x = normal<extents<dyn, 8>>(1, loom_test::make_shape({32, 8}));
  const auto w1 = normal<extents<8, 16>>(2, loom_test::make_shape({8, 16}), 0.35);
  const auto b1 = normal<extents<16>>(3, loom_test::make_shape({16}), 0.1);
  const auto w2 = normal<extents<16, 4>>(4, loom_test::make_shape({16, 4}), 0.25);
  const auto b2 = normal<extents<4>>(5, loom_test::make_shape({4}), 0.1);
  auto target = normal<extents<dyn, 4>>(6, loom_test::make_shape({32, 4}));
  for (std::size_t r = 0; r < 32; ++r) {  // class probabilities: a softmax of noise
    double s = 0;
    for (std::size_t c = 0; c < 4; ++c) s += (target(r, c) = std::exp(target(r, c)));
    for (std::size_t c = 0; c < 4; ++c) target(r, c) /= s;
  }
  const auto [gx, gw1, gb1, gw2, gb2] = grads(x, w1, b1, w2, b2, target);

  torch::Tensor tx = leaf(x), tw1 = leaf(w1), tb1 = leaf(b1), tw2 = leaf(w2), tb2 = leaf(b2);
  const torch::Tensor logits = torch::tanh(tx.matmul(tw1) + tb1).matmul(tw2) + tb2;
  const torch::Tensor loss = -(leaf(target).detach() * torch::log_softmax(logits, 1)).sum(1).mean();
  loss.backward();
  check_same(gx, tx.grad(), "x");
  check_same(gw1, tw1.grad(), "w1");
  check_same(gb1, tb1.grad(), "b1");
  check_same(gw2, tw2.grad(), "w2");
  check_same(gb2, tb2.grad(), "b2");
}

TEST_CASE("grad of the attention block matches libtorch's autograd") {
  constexpr std::size_t d = example::d, tokens = 24;
  const auto block = example::attention_block();
  const auto loss = [block](auto x, auto wq, auto wk, auto wv, auto gamma, auto beta) {
    return loom::sum(loom::sin(block(x, wq, wk, wv, gamma, beta)));
  };
  const auto grads = loom::compile(loom::grad(loss, loom::wrt<0, 1, 2, 3, 4, 5>),
                                   loom::input<double, extents<dyn, d>>{},
                                   loom::input<double, extents<d, d>>{},
                                   loom::input<double, extents<d, d>>{},
                                   loom::input<double, extents<d, d>>{},
                                   loom::input<double, extents<d>>{},
                                   loom::input<double, extents<d>>{});
  const auto x = normal<extents<dyn, d>>(7, loom_test::make_shape({tokens, d}));
  const double w_scale = 1 / std::sqrt(double(d));
  const auto wq = normal<extents<d, d>>(8, loom_test::make_shape({d, d}), w_scale);
  const auto wk = normal<extents<d, d>>(9, loom_test::make_shape({d, d}), w_scale);
  const auto wv = normal<extents<d, d>>(10, loom_test::make_shape({d, d}), w_scale);
  auto gamma = normal<extents<d>>(11, loom_test::make_shape({d}), 0.1);
  for (auto& g : gamma) g += 1;
  const auto beta = normal<extents<d>>(12, loom_test::make_shape({d}), 0.1);
  const auto [gx, gwq, gwk, gwv, ggamma, gbeta] = grads(x, wq, wk, wv, gamma, beta);

  torch::Tensor tx = leaf(x), tq = leaf(wq), tk = leaf(wk), tv = leaf(wv), tg = leaf(gamma),
                tb = leaf(beta);
  // The block's scale is a float, 1 / sqrt(32), which loom converts to f64 as given.
  const double scale = double(1 / std::sqrt(float(d)));
  const torch::Tensor p =
      torch::softmax(tx.matmul(tq).matmul(tx.matmul(tk).transpose(0, 1)) * scale, 1);
  const torch::Tensor out =
      torch::layer_norm(p.matmul(tx.matmul(tv)) + tx, {std::int64_t(d)}, tg, tb, 1e-5);
  torch::sin(out).sum().backward();
  check_same(gx, tx.grad(), "x");
  check_same(gwq, tq.grad(), "wq");
  check_same(gwk, tk.grad(), "wk");
  check_same(gwv, tv.grad(), "wv");
  check_same(ggamma, tg.grad(), "gamma");
  check_same(gbeta, tb.grad(), "beta");
}

TEST_CASE("loom::adam and loom::sgd follow torch.optim.Adam and torch.optim.SGD") {
  auto w = normal<extents<dyn, 6>>(13, loom_test::make_shape({5, 6}));
  auto b = normal<extents<6>>(14, loom_test::make_shape({6}));
  torch::Tensor tw = leaf(w), tb = leaf(b);
  const auto run = [&](auto& optimizer, torch::optim::Optimizer& torch_optimizer) {
    for (std::uint32_t step = 0; step < 5; ++step) {
      const auto gw = normal<extents<dyn, 6>>(20 + step, loom_test::make_shape({5, 6}));
      const auto gb = normal<extents<6>>(30 + step, loom_test::make_shape({6}));
      optimizer.step(gw, gb);
      tw.mutable_grad() = leaf(gw).detach();
      tb.mutable_grad() = leaf(gb).detach();
      torch_optimizer.step();
    }
  };
  SECTION("adam") {
    loom::adam optimizer({.lr = 0.05, .beta1 = 0.85, .beta2 = 0.99, .eps = 1e-7}, w, b);
    torch::optim::Adam torch_optimizer(
        {tw, tb}, torch::optim::AdamOptions(0.05).betas({0.85, 0.99}).eps(1e-7));
    run(optimizer, torch_optimizer);
  }
  SECTION("sgd with momentum") {
    loom::sgd optimizer({.lr = 0.05, .momentum = 0.9}, w, b);
    torch::optim::SGD torch_optimizer({tw, tb}, torch::optim::SGDOptions(0.05).momentum(0.9));
    run(optimizer, torch_optimizer);
  }
  check_same(w, tw.detach(), "w");
  check_same(b, tb.detach(), "b");
}
