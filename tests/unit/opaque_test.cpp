// allow_in_graph, element-wise form: F is one node, called once per element with scalars,
// never traced into, merged only when pure and stateless.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <loom/loom.hpp>

#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>
#include "test_support.hpp"

namespace {

using loom::dyn;
using vec = loom::tensor<float, loom::extents<dyn>>;
using vec_input = loom::input<float, loom::extents<dyn>>;

// Counts calls; pure by declaration (the default), so uses of one result merge.
struct counting {
  static inline std::atomic<long> calls{0};
  float operator()(float v) const {
    ++calls;
    return v + 1.f;
  }
};

// Marks which element it saw. Instantiating it with anything but float fails to compile,
// which proves F receives scalars, never blocks or tensors.
struct marking {
  static inline std::vector<std::atomic<int>>* hits = nullptr;
  template <class T>
  float operator()(T v) const {
    static_assert(std::is_same_v<T, float>, "opaque callables receive one float element");
    ++(*hits)[static_cast<std::size_t>(v)];
    return v;
  }
};

struct scale {
  float k;
  float operator()(float v) const { return v * k; }
};

struct logger {
  static constexpr bool is_pure = false;
  static inline std::mutex mutex;
  static inline std::set<std::thread::id> threads;
  static inline long calls = 0;
  float operator()(float v) const {
    std::lock_guard lock(mutex);
    threads.insert(std::this_thread::get_id());
    ++calls;
    return v;
  }
};

struct throws_on_negative {
  float operator()(float v) const {
    if (v < 0) throw std::domain_error("negative input");
    return v;
  }
};

struct tenth_in_double {
  using output_type = double;
  double operator()(float v) const { return double(v) / 10.0; }
};

struct mix {  // a binary opaque callable
  float operator()(float a, float b) const { return a * 3.f - b; }
};

vec random_vec(std::size_t n, unsigned seed) {
  vec v(n);
  loom_test::fill_uniform(v, seed, -4, 4);
  return v;
}

}  // namespace

TEST_CASE("a reused opaque result is computed once per element", "[opaque][cse]") {
  auto m = loom::compile(
      [](auto x) {
        auto y = loom::allow_in_graph<counting>{}(x);
        return y * y + y;
      },
      vec_input{});
  for (std::size_t n : {0u, 1u, 63u, 64u, 65u, 70001u}) {
    const vec x = random_vec(n, 1);
    counting::calls = 0;
    const vec r = m(x);
    REQUIRE(counting::calls == long(n));
    for (std::size_t i = 0; i < n; ++i) {
      const double y = double(x(i)) + 1;
      REQUIRE(r(i) == Approx(y * y + y).epsilon(1e-6).margin(1e-5));
    }
  }
}

TEST_CASE("the opaque callable sees each element exactly once, as a scalar", "[opaque]") {
  auto m = loom::compile([](auto x) { return loom::allow_in_graph<marking>{}(loom::relu(x)); },
                         vec_input{});
  for (std::size_t n : {0u, 1u, 63u, 64u, 65u, 1000u, 70001u}) {
    vec x(n);
    for (std::size_t i = 0; i < n; ++i) x(i) = float(i);  // exact up to 2^24
    std::vector<std::atomic<int>> hits(n);
    marking::hits = &hits;
    const vec r = m(x);
    for (std::size_t i = 0; i < n; ++i) {
      REQUIRE(hits[i] == 1);
      REQUIRE(r(i) == x(i));
    }
  }
}

TEST_CASE("two stateful callables of one type stay two nodes", "[opaque][cse]") {
  auto m = loom::compile(
      [](auto x) {
        return loom::allow_in_graph<scale>{{2.f}}(x) + loom::allow_in_graph<scale>{{3.f}}(x);
      },
      vec_input{});
  REQUIRE(m.apart() != nullptr);  // runs op by op
  const vec x = random_vec(500, 2);
  const vec r = m(x);
  for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(r(i) == Approx(5.0 * x(i)).margin(1e-5));
}

TEST_CASE("impure callables are never merged and run on one thread", "[opaque][impure]") {
  auto model = [](auto x) {
    return loom::allow_in_graph<logger>{}(x) + loom::allow_in_graph<logger>{}(x);
  };
  auto m = loom::compile(model, vec_input{});
  STATIC_REQUIRE(decltype(m)::node_count == 4);
  const vec x = random_vec(70001, 3);
  logger::calls = 0;
  logger::threads.clear();
  const vec r = m(x);
  CHECK(logger::calls == 2 * 70001);
  CHECK(logger::threads.size() == 1);
  logger::calls = 0;
  const vec e = model(x);  // eager calls it as often
  CHECK(logger::calls == 2 * 70001);
  for (std::size_t i = 0; i < x.size(); ++i) REQUIRE((r(i) == 2 * x(i) && e(i) == r(i)));
}

TEST_CASE("an impure result used twice is computed once, as in eager mode", "[opaque][impure]") {
  auto model = [](auto x) {
    auto y = loom::allow_in_graph<logger>{}(x);
    auto z = loom::allow_in_graph<logger>{}(y * 2.f);
    return y * y + z * y;
  };
  auto m = loom::compile(model, vec_input{});
  for (std::size_t n : {1u, 65u, 1000u}) {
    const vec x = random_vec(n, 11);
    logger::calls = 0;
    const vec r = m(x);
    CHECK(logger::calls == long(2 * n));
    logger::calls = 0;
    const vec e = model(x);
    CHECK(logger::calls == long(2 * n));
    for (std::size_t i = 0; i < n; ++i) {
      const double y = x(i);
      REQUIRE(r(i) == Approx(y * y + 2 * y * y).epsilon(1e-6).margin(1e-5));
      REQUIRE(e(i) == Approx(r(i)).epsilon(1e-6).margin(1e-5));
    }
  }
}

TEST_CASE("an impure result used by two fusion groups is stored once", "[opaque][impure]") {
  auto model = [](auto x, auto m) {
    auto y = loom::allow_in_graph<logger>{}(x);
    return std::make_tuple(y * 2.f, y + m);
  };
  auto compiled = loom::compile(
      model, loom::input<float, loom::extents<4>>{}, loom::input<float, loom::extents<3, 4>>{});
  STATIC_REQUIRE(decltype(compiled)::kernel_count == 2);
  loom::tensor<float, loom::extents<4>> x;
  loom::tensor<float, loom::extents<3, 4>> m;
  loom_test::fill_uniform(x, 14, -1, 1);
  loom_test::fill_uniform(m, 15, -1, 1);
  logger::calls = 0;
  const auto [twice, sum] = compiled(x, m);
  CHECK(logger::calls == 4);  // once per element of y, as eager mode calls it
  for (std::size_t j = 0; j < 4; ++j) {
    REQUIRE(twice(j) == 2.f * x(j));
    for (std::size_t i = 0; i < 3; ++i) REQUIRE(sum(i, j) == x(j) + m(i, j));
  }
}

TEST_CASE("an impure result folded by a reduction and divided by it runs once per element",
          "[opaque][impure][reduce]") {
  // y / sum(y) over rows: the reduce step and the division each use a copy of y. Pure, the
  // division computes y again (or a stash keeps it); impure, y is stored by one step.
  auto normalise = [](auto x) {
    auto y = loom::allow_in_graph<logger>{}(x);
    return y / loom::sum(y, loom::axes<-1>, loom::keepdims);
  };
  auto m = loom::compile(normalise, loom::input<float, loom::extents<dyn, dyn>>{});
  STATIC_REQUIRE(decltype(m)::kernel_count == 1);
  loom::tensor<float, loom::extents<dyn, dyn>> x(37, 70);
  loom_test::fill_uniform(x, 16, 0.5, 2);
  logger::calls = 0;
  const auto r = m(x);
  CHECK(logger::calls == long(x.size()));
  for (std::size_t i = 0; i < 37; ++i) {
    double total = 0;
    for (std::size_t j = 0; j < 70; ++j) total += x(i, j);
    // A sum of 70 positive terms, then one division: well within 1e-5 relative.
    for (std::size_t j = 0; j < 70; ++j) REQUIRE(r(i, j) == Approx(x(i, j) / total).epsilon(1e-5));
  }
}

TEST_CASE("copies of a chain of impure calls, one given to a whole-tensor call, run once",
          "[opaque][impure][calls]") {
  // y = F(F(x)) used twice: its copies are two chains whose outer calls have different
  // operands (the inner calls' copies), and one chain ends in a whole-tensor call.
  struct copy_all {
    using granularity = loom::whole_tensor;
    void operator()(loom::tensor_view<const float> in, loom::tensor_view<float> out) const {
      std::copy(in.begin(), in.end(), out.begin());
    }
  };
  auto model = [](auto x) {
    auto y = loom::allow_in_graph<logger>{}(loom::allow_in_graph<logger>{}(x)*2.f);
    return std::make_tuple(loom::allow_in_graph<copy_all>{}(y), y + 1.f);
  };
  auto m = loom::compile(model, vec_input{});
  const vec x = random_vec(300, 18);
  logger::calls = 0;
  const auto [copied, plus] = m(x);
  CHECK(logger::calls == 2 * 300);
  for (std::size_t i = 0; i < x.size(); ++i)
    REQUIRE((copied(i) == 2.f * x(i) && plus(i) == 2.f * x(i) + 1.f));
}

// Doubles, counting its calls; impure, so uses of one result are copies of one call.
struct doubling_logger {
  static constexpr bool is_pure = false;
  static inline std::atomic<long> calls{0};
  float operator()(float v) const {
    ++calls;
    return 2.f * v;
  }
};

// Copies its input; impure, so a result used twice is two copies of one call.
struct copy_impure {
  using granularity = loom::whole_tensor;
  static constexpr bool is_pure = false;
  void operator()(loom::tensor_view<const float> in, loom::tensor_view<float> out) const {
    std::copy(in.begin(), in.end(), out.begin());
  }
};

TEST_CASE("copies of a chain of impure calls on copies of hooks and barriers and calls",
          "[opaque][impure][calls]") {
  // z = F(F(v + y)) used twice, v used three times, where tracing copies v into each use
  // instead of merging the copies: a hook, a barrier over a run-time scalar's product, an
  // impure whole-tensor call. The second chain reads its own copy of v, whose step comes
  // after the first chain's in the graph's order; both chains must still be one step.
  auto check = [](auto upstream, float v_per_x) {
    auto m = loom::compile(
        [upstream](auto x, auto y) {
          auto v = upstream(x);
          auto z = loom::allow_in_graph<doubling_logger>{}(
              loom::allow_in_graph<doubling_logger>{}(v + y));
          return std::make_tuple(loom::minimum(z, v), z, v);
        },
        vec_input{},
        vec_input{});
    const vec x = random_vec(300, 31), y = random_vec(300, 32);
    doubling_logger::calls = 0;
    const auto [low, z, v] = m(x, y);
    CHECK(doubling_logger::calls == 2 * 300);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double want_v = double(v_per_x) * x(i), want_z = 4 * (want_v + y(i));
      REQUIRE(v(i) == Approx(want_v).epsilon(1e-6));
      REQUIRE(z(i) == Approx(want_z).epsilon(1e-6).margin(1e-6));
      REQUIRE(low(i) == Approx(std::min(want_z, want_v)).epsilon(1e-6).margin(1e-6));
    }
  };
  SECTION("a hook") {
    check([](auto x) { return loom::hook(x, [](auto) {}); }, 1.f);
  }
  SECTION("a barrier") {
    check([](auto x) { return loom::fusion_barrier(x * 2.f); }, 2.f);
  }
  SECTION("an impure whole-tensor call") {
    check([](auto x) { return loom::allow_in_graph<copy_impure>{}(x); }, 1.f);
  }
}

TEST_CASE("an impure call between copies of a whole-tensor call and of a hook",
          "[opaque][impure][calls]") {
  // h = hook(F(sum(C(x)))) used twice, C an impure whole-tensor call, F an impure
  // element-wise one. Tracing copies the chain into each use of h; the copies of F wait for
  // both copies of the sum, and the second copy of C came after the first copy of the hook in
  // the order that calls and hooks keep: a cycle, and compile() threw trace_error (fuzzer,
  // seed 547). The copies of a call or hook may now keep that order beside their first one.
  long hook_calls = 0;
  auto m = loom::compile(
      [&hook_calls](auto x, auto y) {
        auto h = loom::hook(loom::allow_in_graph<doubling_logger>{}(
                                loom::sum(loom::allow_in_graph<copy_impure>{}(x))),
                            [&hook_calls](auto) { ++hook_calls; });
        return std::make_tuple(loom::maximum(h, y), h);
      },
      vec_input{},
      vec_input{});
  const vec x = random_vec(300, 41), y = random_vec(300, 42);
  double sum = 0;
  for (std::size_t i = 0; i < x.size(); ++i) sum += x(i);
  for (int run = 1; run <= 2; ++run) {
    doubling_logger::calls = 0;
    const auto [top, h] = m(x, y);
    CHECK(doubling_logger::calls == 1);
    CHECK(hook_calls == run);
    REQUIRE(h() == Approx(2 * sum).epsilon(1e-5));
    for (std::size_t i = 0; i < y.size(); ++i)
      REQUIRE(top(i) == Approx(std::max(2 * sum, double(y(i)))).epsilon(1e-5));
  }
}

// Doubles values of any type, counting its calls; impure.
struct doubling_counter {
  static constexpr bool is_pure = false;
  static inline std::atomic<long> calls{0};
  template <class T>
  T operator()(T v) const {
    ++calls;
    return T(2) * v;
  }
};

TEST_CASE("one impure callable on an int value and on a float value in one pass",
          "[opaque][impure][dtype]") {
  // F(sin(F(k))) for int32 k: the two calls have the same op but different element types,
  // so neither can be a copy of the other. The pass once took them for possible copies and
  // did not compile (fuzzer, seed 313).
  auto m = loom::compile(
      [](auto k) {
        return loom::allow_in_graph<doubling_counter>{}(
            loom::sin(loom::allow_in_graph<doubling_counter>{}(k)));
      },
      loom::input<std::int32_t, loom::extents<dyn>>{});
  loom::tensor<std::int32_t, loom::extents<dyn>> k(300);
  for (std::size_t i = 0; i < k.size(); ++i) k(i) = std::int32_t(i % 41) - 20;
  doubling_counter::calls = 0;
  const auto r = m(k);
  CHECK(doubling_counter::calls == 2 * 300);
  for (std::size_t i = 0; i < k.size(); ++i)
    REQUIRE(r(i) == Approx(2 * std::sin(2.0 * k(i))).margin(1e-6));
}

TEST_CASE("an exception from F reaches the caller, also from worker threads", "[opaque]") {
  auto m = loom::compile([](auto x) { return loom::allow_in_graph<throws_on_negative>{}(x); },
                         vec_input{});
  for (std::size_t n : {1000u, 1u << 17}) {
    vec x(n);
    x.fill(1.f);
    x(n - 1) = -1.f;  // on the second thread's share when two threads run
    REQUIRE_THROWS_AS(m(x), std::domain_error);
  }
}

TEST_CASE("an impure callable on a broadcast value runs once per element of its value",
          "[opaque][impure]") {
  // Fused into the pass over [100, 4], logger would run 400 times where eager runs it 4
  // times: its result is stored by a pass over [4] instead.
  auto m = loom::compile([](auto bias, auto x) { return x + loom::allow_in_graph<logger>{}(bias); },
                         vec_input{},
                         loom::input<float, loom::extents<dyn, dyn>>{});
  const vec bias = random_vec(4, 13);
  loom::tensor<float, loom::extents<dyn, dyn>> x(100, 4);
  loom_test::fill_uniform(x, 17, -1, 1);
  logger::calls = 0;
  const auto r = m(bias, x);
  CHECK(logger::calls == 4);
  for (std::size_t i = 0; i < 100; ++i)
    for (std::size_t j = 0; j < 4; ++j) REQUIRE(r(i, j) == x(i, j) + bias(j));
}

TEST_CASE("F may declare its output dtype", "[opaque][dtype]") {
  auto m = loom::compile([](auto x) { return loom::allow_in_graph<tenth_in_double>{}(x)*2.0; },
                         vec_input{});
  const vec x = random_vec(129, 4);
  const auto r = m(x);
  STATIC_REQUIRE(
      std::is_same_v<std::remove_cvref_t<decltype(r)>, loom::tensor<double, loom::extents<dyn>>>);
  for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(r(i) == double(x(i)) / 10.0 * 2.0);
}

TEST_CASE("an opaque callable may take several inputs and broadcast them", "[opaque]") {
  auto m = loom::compile([](auto a, auto b) { return loom::allow_in_graph<mix>{}(a, b); },
                         loom::input<float, loom::extents<dyn, dyn>>{},
                         loom::input<float, loom::extents<dyn>>{});
  loom::tensor<float, loom::extents<dyn, dyn>> a(5, 67);
  const vec b = random_vec(67, 5);
  loom_test::fill_uniform(a, 6, -1, 1);
  const auto r = m(a, b);
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t j = 0; j < 67; ++j)
      REQUIRE(r(i, j) == Approx(3.0 * a(i, j) - b(j)).margin(1e-6));
  const auto e = loom::allow_in_graph<mix>{}(a, b);  // eager
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t j = 0; j < 67; ++j) REQUIRE(e(i, j) == r(i, j));
}

TEST_CASE("explain marks opaque nodes", "[opaque][explain]") {
  auto m = loom::compile([](auto x) { return loom::allow_in_graph<scale>{{2.f}}(x); }, vec_input{});
  CHECK_THAT(loom::explain(m),
             Catch::Contains("opaque<{anonymous}::scale> %0 : f32[?]  "
                             "[element-wise, pure, stateful, fused as a call]"));
}
