// The code of docs/guide.md's section on gradients. As in docs_snippets_test.cpp, each region
// between `// [snippet:NAME]` and `// [/snippet:NAME]` appears verbatim in a code block of the
// guide that starts with `// snippet: NAME`; docs_snippets_in_sync keeps them identical. The
// CHECKs outside the regions hold the values the guide promises, against closed forms.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <loom/loom.hpp>
#include <numeric>
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

// [snippet:grad_whole_tensor]
// A running sum, a scan that loom's ops cannot express, with its backward: the running sum
// of the output's gradient, taken from the other end.
struct running_sum {
  using granularity = loom::whole_tensor;
  template <class In, class Out>
  void operator()(In x, Out y) const {
    typename Out::value_type acc = 0;
    for (std::size_t i = 0; i < x.size(); ++i) y(i) = acc += x(i);
  }
  template <class In, class Out, class GradOut, class GradIn>
  void backward(In, Out, GradOut dy, GradIn dx) const {
    typename GradIn::value_type acc = 0;
    for (std::size_t i = dy.size(); i-- > 0;) dx(i) = acc += dy(i);
  }
};
// [/snippet:grad_whole_tensor]

TEST_CASE("guide: gradients of a linear model, and a training loop, also as one model") {
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

  // The same training as one model per step, from zeros again.
  w.fill(0.f);
  b.fill(0.f);
  {
    // [snippet:training_step]
    loom::sgd optimizer({.lr = 0.2}, w, b);
    // The loss model takes the data, then the optimizer's parameters in its order.
    auto train =
        loom::compile_training_step(loss,
                                    optimizer,
                                    loom::input<float, loom::extents<loom::dyn, 3>, rows>{},
                                    loom::input<float, loom::extents<loom::dyn, 1>, rows>{});
    float first = 0, last = 0;
    for (int epoch = 0; epoch < 200; ++epoch) {
      auto l = train(x, y);  // the loss before this step's update; w and b updated in place
      (epoch == 0 ? first : last) = l();
    }
    // as with value_and_grad and optimizer.step: first 3.57, last below 1e-4
    // [/snippet:training_step]
    CHECK(first == Approx(3.57).margin(0.01));
    CHECK(last < 1e-4f);
    CHECK(optimizer.steps() == 200);
    CHECK(w(0, 0) == Approx(1).margin(0.02));
    CHECK(w(1, 0) == Approx(-2).margin(0.02));
    CHECK(b(0) == Approx(1).margin(0.02));

    // [snippet:optimizer_reset]
    // Again from the start: the parameters restored by you, the optimizer's state by reset().
    w.fill(0.f);
    b.fill(0.f);
    optimizer.reset();
    float again = 0;
    for (int epoch = 0; epoch < 200; ++epoch) again = train(x, y)();
    // again == last, to the bit: the same steps from the same start
    // [/snippet:optimizer_reset]
    CHECK(again == last);
    CHECK(optimizer.steps() == 200);
  }
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

TEST_CASE("guide: a whole-tensor black box with its backward") {
  // [snippet:grad_whole_tensor_use]
  auto g = loom::grad(
      [](auto x) { return loom::sum(loom::square(loom::allow_in_graph<running_sum>{}(x))); });
  loom::tensor<double, loom::extents<3>> x;
  x(0) = 1, x(1) = 2, x(2) = 3;  // running sum: 1 3 6
  auto dx = g(x);                // its gradient 2 6 12, summed from the end: 20 18 12
  // [/snippet:grad_whole_tensor_use]
  CHECK(dx(0) == 20.0);
  CHECK(dx(1) == 18.0);
  CHECK(dx(2) == 12.0);
}

TEST_CASE("guide: vjp of a matrix-valued model") {
  // [snippet:grad_vjp]
  auto pullback = loom::compile(
      loom::vjp([](auto x, auto w) { return loom::matmul(x, w); }, loom::wrt<0, 1>),
      loom::input<double, loom::extents<2, 3>>{},
      loom::input<double, loom::extents<3, 2>>{},
      loom::input<double, loom::extents<2, 2>>{});  // the cotangent, of the output's extents
  loom::tensor<double, loom::extents<2, 3>> x;
  loom::tensor<double, loom::extents<3, 2>> w;
  loom::tensor<double, loom::extents<2, 2>> dy;
  std::iota(x.begin(), x.end(), 1.0);  // 1 2 3 / 4 5 6
  w.fill(1.0);
  dy.fill(0.0);
  dy(0, 1) = 1.0;                      // the gradients of y(0, 1)
  auto [dx, dw] = pullback(x, w, dy);  // dx = dy w^T: 1 1 1 / 0 0 0; dw = x^T dy: 0 1 / 0 2 / 0 3
  // [/snippet:grad_vjp]
  for (std::size_t j = 0; j < 3; ++j) {
    CHECK(dx(0, j) == 1.0);
    CHECK(dx(1, j) == 0.0);
    CHECK(dw(j, 0) == 0.0);
    CHECK(dw(j, 1) == double(j + 1));
  }
}

TEST_CASE("guide: take_along_axis and cross_entropy on class indices") {
  // [snippet:take_along_axis]
  loom::tensor<float, loom::extents<2, 3>> x;
  std::iota(x.begin(), x.end(), 0.f);  // 0 1 2 / 3 4 5
  loom::tensor<std::int32_t, loom::extents<2, 2>> at;
  at(0, 0) = 2, at(0, 1) = 0, at(1, 0) = -1, at(1, 1) = 1;
  auto picked = loom::take_along_axis<1>(x, at);  // 2 0 / 5 4
  // [/snippet:take_along_axis]
  CHECK(picked(0, 0) == 2.f);
  CHECK(picked(0, 1) == 0.f);
  CHECK(picked(1, 0) == 5.f);
  CHECK(picked(1, 1) == 4.f);
  // [snippet:cross_entropy_classes]
  auto loss =
      loom::compile([](auto logits, auto classes) { return loom::cross_entropy(logits, classes); },
                    loom::input<float, loom::extents<loom::dyn, 3>>{},
                    loom::input<std::int32_t, loom::extents<loom::dyn>>{});
  loom::tensor<float, loom::extents<loom::dyn, 3>> logits(2);
  loom::tensor<std::int32_t, loom::extents<loom::dyn>> classes(2);
  logits.fill(0.f);
  logits(0, 2) = 1.f;
  classes(0) = 2, classes(1) = 0;
  auto l = loss(logits, classes);  // (log(2 + e) - 1 + log 3) / 2 = 0.825
  // [/snippet:cross_entropy_classes]
  const double want = (std::log(2 + std::exp(1.0)) - 1 + std::log(3.0)) / 2;
  CHECK(std::abs(l() - want) < 1e-6);
  CHECK(std::abs(want - 0.825) < 5e-4);
}
