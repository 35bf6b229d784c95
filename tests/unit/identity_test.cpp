// Identity at trace time: the copies of a value built on a run-time scalar or a stateful
// callable are one node, while two values that only share a type (x * 2.f and x * 3.f) stay
// apart. Checked on node and kernel counts and on values against double-precision loops.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "../common/attention_reference.hpp"
#include "test_support.hpp"

namespace {

using loom::dyn;
using loom::extents;
using loom_test::vec_in;
using vec = loom_test::vec<float>;

vec random_vec(std::size_t n, unsigned seed) {
  vec v(n);
  loom_test::fill_uniform(v, seed, -3, 3);
  return v;
}

struct scale {
  float k;
  float operator()(float v) const { return v * k; }
};

struct count_calls {
  static constexpr bool is_pure = false;
  int* calls;
  float operator()(float v) const {
    ++*calls;
    return v + 1;
  }
};

template <class Model>
bool runs_apart(const Model& m) {
  if constexpr (requires { m.apart(); })
    return m.apart() != nullptr;
  else
    return false;
}

}  // namespace

TEST_CASE("a value built on a run-time scalar and used twice is one node", "[identity]") {
  const float gain = 0.75f;
  auto m = loom::compile(
      [gain](auto x) {
        auto y = x * gain;
        return y * y + y;
      },
      vec_in{});
  // x, gain, mul, mul, add: the same as with loom::lit<0.75f>
  STATIC_REQUIRE(decltype(m)::node_count == 5);
  CHECK_FALSE(runs_apart(m));
  const vec x = random_vec(1001, 1);
  const vec r = m(x);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double y = 0.75 * x(i);
    REQUIRE(r(i) == Approx(y * y + y).epsilon(1e-6).margin(1e-6));
  }
}

TEST_CASE("scalars of equal value written twice are one node", "[identity]") {
  // Equal bits compute equal values, so x * 2.f written twice is merged like a literal.
  auto m = loom::compile([](auto x) { return x * 2.f + x * 2.f; }, vec_in{});
  STATIC_REQUIRE(decltype(m)::node_count == 4);  // x, 2, mul, add
  CHECK_FALSE(runs_apart(m));
  const vec x = random_vec(300, 2);
  const vec r = m(x);
  for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(r(i) == Approx(4.0 * x(i)).margin(1e-6));
}

TEST_CASE("values that share a type but not their scalars stay apart", "[identity]") {
  auto m = loom::compile([](auto x) { return x * 2.f + x * 3.f; }, vec_in{});
  REQUIRE(runs_apart(m));
  CHECK(loom::explain(m).find("runs op by op") != std::string::npos);
  const vec x = random_vec(1001, 3);
  const vec r = m(x);
  vec into(x.size());
  m.run(into, x);
  for (std::size_t i = 0; i < x.size(); ++i) {
    REQUIRE(r(i) == Approx(5.0 * x(i)).epsilon(1e-6).margin(1e-6));
    REQUIRE(into(i) == r(i));
  }
}

TEST_CASE("0 and -0 are different scalars", "[identity]") {
  // 1 / (x * 0) and 1 / (x * -0) differ in sign for positive x.
  auto m = loom::compile([](auto x) { return 1.f / (x * 0.f) - 1.f / (x * -0.f); }, vec_in{});
  REQUIRE(runs_apart(m));
  vec x(4);
  loom_test::fill_uniform(x, 4, 1, 2);
  for (float v : vec(m(x))) REQUIRE((std::isinf(v) && v > 0));
}

TEST_CASE("the copies of a stateful callable are one call, two callables stay two",
          "[identity][opaque]") {
  auto once = loom::compile(
      [](auto x) {
        auto y = loom::allow_in_graph<scale>{{2.f}}(x);
        return y * y;
      },
      vec_in{});
  STATIC_REQUIRE(decltype(once)::node_count == 3);  // x, scale, mul
  CHECK_FALSE(runs_apart(once));

  // Two objects of one type are two calls, even with equal state: loom does not look
  // inside F to compare it.
  auto two = loom::compile(
      [](auto x) {
        return loom::allow_in_graph<scale>{{2.f}}(x)*loom::allow_in_graph<scale>{{2.f}}(x);
      },
      vec_in{});
  REQUIRE(runs_apart(two));
  const vec x = random_vec(257, 5);
  const vec a = once(x), b = two(x);
  for (std::size_t i = 0; i < x.size(); ++i) {
    REQUIRE(a(i) == Approx(4.0 * x(i) * x(i)).margin(1e-5));
    REQUIRE(b(i) == a(i));
  }
}

TEST_CASE("a model that runs op by op calls each hook and impure callable once",
          "[identity][hook]") {
  int hooked = 0, called = 0;
  auto m = loom::compile(
      [&](auto x) {
        auto seen = loom::hook(x * 2.f, [&](auto) { ++hooked; });
        auto y = loom::allow_in_graph<count_calls>{{&called}}(seen);
        return std::make_tuple(y * y + x * 3.f, y);  // 2.f and 3.f: the model runs op by op
      },
      vec_in{});
  REQUIRE(m.apart() != nullptr);
  const vec x = random_vec(100, 7);
  vec a(x.size()), b(x.size());
  m.run(std::tie(a, b), x);
  CHECK(hooked == 1);
  CHECK(called == int(x.size()));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double y = 2.0 * x(i) + 1;
    REQUIRE(b(i) == Approx(y).margin(1e-5));
    REQUIRE(a(i) == Approx(y * y + 3.0 * x(i)).epsilon(1e-5).margin(1e-5));
  }
}

TEST_CASE("fullgraph refuses a model that runs op by op", "[identity][errors]") {
  auto model = [](auto x) {
    return x * 2.f + x * 3.f;
  };
  const std::string message = loom_test::error_message<loom::trace_error>(
      [&] { (void)loom::compile(model, loom::fullgraph, vec_in{}); }, "<no trace_error thrown>");
  CHECK(message ==
        "loom: fullgraph: two values of one type hold different run-time scalars or callables, "
        "so the model runs op by op, not as one fused pass (use loom::lit or a rank-0 input for "
        "the scalars)");
  // Equal scalars merge, and the model is one pass.
  auto merged = loom::compile([](auto x) { return x * 2.f + x * 2.f; }, loom::fullgraph, vec_in{});
  CHECK(merged.apart() == nullptr);
}

TEST_CASE("a model that runs op by op checks its inputs like the fused one", "[identity][errors]") {
  auto m = loom::compile([](auto a, auto b) { return a * 2.f + b + a * 3.f; }, vec_in{}, vec_in{});
  REQUIRE(m.apart() != nullptr);
  const std::string message = loom_test::shape_error_message([&] { (void)m(vec(3), vec(4)); });
  CHECK(message.find("[3]") != std::string::npos);
  CHECK(message.find("[4]") != std::string::npos);
}

TEST_CASE("a reduction built on a run-time scalar and used twice runs once", "[identity]") {
  const float gain = 0.5f;
  auto m = loom::compile(
      [gain](auto x) {
        auto total = loom::sum(x * gain);
        return x / total + total;
      },
      vec_in{});
  STATIC_REQUIRE(decltype(m)::node_count == 6);  // x, gain, mul, sum, div, add
  const vec x = random_vec(999, 6);
  const vec r = m(x);
  double total = 0;
  for (float v : x) total += 0.5 * v;
  for (std::size_t i = 0; i < x.size(); ++i)
    REQUIRE(r(i) == Approx(x(i) / total + total).epsilon(1e-4).margin(1e-4));
}

namespace {

constexpr std::size_t d = 16;
constexpr float inv_sqrt_d = 0.25f;

// scores = (x Wq)(x Wk)^T * scale, masked where `keep` is false, softmax over keys, times
// x Wv, plus the residual x, then layer norm: with the scale and the mask value as given.
auto attention = [](auto scale, auto masked) {
  return [=](auto x, auto wq, auto wk, auto wv, auto keep, auto gamma, auto beta) {
    auto q = loom::matmul(x, wq);
    auto k = loom::matmul(x, wk);
    auto v = loom::matmul(x, wv);
    auto s = loom::matmul(q, loom::transpose(k)) * scale;
    auto p = loom::softmax(loom::where(keep, s, masked));
    return loom::layer_norm(loom::matmul(p, v) + x, gamma, beta, 1e-5);
  };
};

template <class Block>
auto compile_attention(Block block) {
  using w = loom::input<float, extents<d, d>>;
  using g = loom::input<float, extents<d>>;
  return loom::compile(block,
                       loom::input<float, extents<dyn, d>>{},
                       w{},
                       w{},
                       w{},
                       loom::input<bool, extents<dyn, dyn>>{},
                       g{},
                       g{});
}

}  // namespace

TEST_CASE("attention with a run-time mask value has the graph of its literal twin",
          "[identity][attention]") {
  constexpr float ninf = -std::numeric_limits<float>::infinity();
  auto runtime = compile_attention(attention(inv_sqrt_d, ninf));
  auto literal = compile_attention(attention(loom::lit<inv_sqrt_d>, loom::lit<ninf>));
  // One node more: the literal twin's -inf is also the one softmax guards rows with.
  STATIC_REQUIRE(decltype(runtime)::node_count == decltype(literal)::node_count + 1);
  STATIC_REQUIRE(decltype(runtime)::kernel_count == decltype(literal)::kernel_count);
  CHECK_FALSE(runs_apart(runtime));

  const std::size_t n = 37;
  loom::tensor<float, extents<dyn, d>> x(n);
  loom::tensor<float, extents<d, d>> wq, wk, wv;
  loom::tensor<bool, extents<dyn, dyn>> keep(n, n);
  loom::tensor<float, extents<d>> gamma, beta;
  loom_test::fill_normal(x, 7, 0, 1);
  loom_test::fill_normal(wq, 8, 0, 0.25);
  loom_test::fill_normal(wk, 9, 0, 0.25);
  loom_test::fill_normal(wv, 10, 0, 0.25);
  loom_test::fill_bool(keep, 11, 0.7);
  for (std::size_t t = 0; t < n; ++t) keep(t, t) = true;  // every row keeps a key
  loom_test::fill_normal(gamma, 12, 1, 0.1);
  loom_test::fill_normal(beta, 13, 0, 0.1);
  const auto r = runtime(x, wq, wk, wv, keep, gamma, beta);
  const auto l = literal(x, wq, wk, wv, keep, gamma, beta);

  const auto want = loom_test::attention_reference(
      x, wq, wk, wv, inv_sqrt_d, [&](std::size_t t, std::size_t s) { return keep(t, s); }, x, 1e-5);
  for (std::size_t t = 0; t < n; ++t)
    for (std::size_t j = 0; j < d; ++j) {
      const double w = want[t * d + j] * gamma(j) + beta(j);
      REQUIRE(r(t, j) == Approx(w).margin(2e-4));
      REQUIRE(l(t, j) == Approx(w).margin(2e-4));
    }
}
