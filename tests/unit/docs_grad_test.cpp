// The code of docs/guide.md's section on gradients. As in docs_snippets_test.cpp, each region
// between `// [snippet:NAME]` and `// [/snippet:NAME]` appears verbatim in a code block of the
// guide that starts with `// snippet: NAME`; docs_snippets_in_sync keeps them identical. The
// CHECKs outside the regions hold the values the guide promises, against closed forms.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <loom/loom.hpp>
#include <string>
#include <vector>

// [snippet:grad_softplus]
// softplus as a black box, with the derivative loom::grad uses for it.
struct softplus {
  template <class T>
  T operator()(T x) const {
    return std::log1p(std::exp(x));
  }
  template <class T>
  static T derivative(T x) {
    return T(1) / (T(1) + std::exp(-x));  // sigmoid
  }
};
// [/snippet:grad_softplus]

TEST_CASE("guide: gradients of a linear model, and a training loop") {
  // [snippet:grad_linear]
  struct batch;  // names the batch extent that x and y share
  using rows = loom::dims<batch, loom::unnamed>;
  auto loss = [](auto x, auto y, auto w, auto b) {
    return loom::mse_loss(loom::matmul(x, w) + b, y);
  };
  auto step = loom::compile(loom::value_and_grad(loss, loom::wrt<2, 3>),
                            loom::input<float, loom::extents<loom::dyn, 3>, rows>{},
                            loom::input<float, loom::extents<loom::dyn, 1>, rows>{},
                            loom::input<float, loom::extents<3, 1>>{},
                            loom::input<float, loom::extents<1>>{});

  // y = x0 - 2 x1 + 0.5 x2 + 1 on 64 points; w and b start at 0.
  loom::tensor<float, loom::extents<loom::dyn, 3>> x(64);
  loom::tensor<float, loom::extents<loom::dyn, 1>> y(64);
  for (std::size_t i = 0; i < 64; ++i) {
    const float a = std::sin(i * 0.7f), c = std::cos(i * 1.3f), d = std::sin(i * 2.1f);
    x(i, 0) = a, x(i, 1) = c, x(i, 2) = d;
    y(i, 0) = a - 2 * c + 0.5f * d + 1;
  }
  loom::tensor<float, loom::extents<3, 1>> w;
  loom::tensor<float, loom::extents<1>> b;
  w.fill(0.f);
  b.fill(0.f);
  loom::sgd optimizer({.lr = 0.2}, w, b);  // updates w and b in place
  float first = 0, last = 0;
  for (int epoch = 0; epoch < 200; ++epoch) {
    auto [l, gw, gb] = step(x, y, w, b);  // the loss, then the gradients, one tuple
    optimizer.step(gw, gb);
    (epoch == 0 ? first : last) = l();
  }
  // first: 3.57, last below 1e-4; w near (1, -2, 0.5), b near 1
  // [/snippet:grad_linear]
  CHECK(first > 1.0f);
  CHECK(last < 1e-4f);
  CHECK(w(0, 0) == Approx(1).margin(0.02));
  CHECK(w(1, 0) == Approx(-2).margin(0.02));
  CHECK(w(2, 0) == Approx(0.5).margin(0.02));
  CHECK(b(0) == Approx(1).margin(0.02));
  INFO("first loss " << first);
  CHECK(first == Approx(3.57).margin(0.01));
}

TEST_CASE("guide: a black box with its derivative, and stop_gradient") {
  // [snippet:grad_black_box]
  auto g = loom::grad([](auto x, auto scale) {
    const auto y = loom::allow_in_graph<softplus>{}(x);  // one opaque node
    return loom::sum(y * loom::stop_gradient(scale));
  });
  loom::tensor<double, loom::extents<3>> x, scale;
  x(0) = -1, x(1) = 0, x(2) = 2;
  scale.fill(2.0);
  auto dx = g(x, scale);  // 2 sigmoid(x): 0.538 1 1.762 (eager: compiles, then runs)
  // [/snippet:grad_black_box]
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(dx(i) == Approx(2 / (1 + std::exp(-x(i)))).epsilon(1e-15));
  CHECK(dx(0) == Approx(0.538).margin(5e-4));
  CHECK(dx(2) == Approx(1.762).margin(5e-4));
}

TEST_CASE("guide: grad_hook sees the gradient at a value") {
  // [snippet:grad_hook]
  std::vector<double> seen;
  auto g = loom::grad([&seen](auto x, auto w) {
    const auto h = loom::grad_hook(
        loom::tanh(x * w), [&seen](loom::tensor_view<const double, loom::extents<3>> dh) {
          seen.assign(dh.begin(), dh.end());  // the gradient of the loss at h: 2 h
        });
    return loom::sum(h * h);
  });
  loom::tensor<double, loom::extents<3>> x, w;
  x(0) = 0.5, x(1) = -1, x(2) = 2;
  w.fill(0.5);
  auto dx = g(x, w);  // the callback ran once, in the backward pass
  // [/snippet:grad_hook]
  REQUIRE(seen.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const double h = std::tanh(x(i) * w(i));
    CHECK(seen[i] == Approx(2 * h).epsilon(1e-15));
    CHECK(dx(i) == Approx(2 * h * (1 - h * h) * w(i)).epsilon(1e-14));
  }
  // In a model that is not a gradient, the callback is never called.
  seen.clear();
  auto forward = loom::compile(
      [&seen](auto x) {
        return loom::grad_hook(x, [&seen](loom::tensor_view<const double, loom::extents<3>> v) {
          seen.assign(v.begin(), v.end());
        });
      },
      loom::input<double, loom::extents<3>>{});
  CHECK(forward(x)(1) == -1);
  CHECK(seen.empty());
}
