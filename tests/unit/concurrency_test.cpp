// One compiled CPU model called at once from many std::threads, and eager ops from many
// threads at once, each call on its own random inputs and checked against a double-precision
// reference. What the guide promises ("Threads"): a call is const and a compiled model keeps
// no state between calls, so concurrent calls never see each other's buffers, whether the
// model's own OpenMP threads are one or several and whether a pass is below or above
// loom::cpu::parallel_threshold (each test's callers take both sizes, at the same time);
// eager ops share loom's buffer pool, which is locked.
//
// What is NOT loom's to make safe: a hook callback (or an F's data) is one object inside the
// model, shared by every call, so concurrent calls run it concurrently. The hook here only
// writes a thread_local (hooks run on the calling thread) and an atomic counter: safe. A
// callback that appends to a std::vector it captured, or bumps a plain int, races and needs
// a lock of the user's. set_threads() is not synchronised either: set it before sharing the
// model.
//
// Catch2's assertions are not thread-safe: the threads only compute reports, which the test's
// own thread asserts after joining them. Under TSan (scripts/sanitize.sh thread) this file
// is the data-race check of loom's compiled models and buffer pool.
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <latch>
#include <limits>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "../common/matmul_reference.hpp"
#include "../common/rows_reference.hpp"
#include "test_support.hpp"

using loom::dyn;
using loom::extents;
using loom_test::compare;
using loom_test::compare_scaled;
using loom_test::eps_f;
using loom_test::report;
using loom_test::tolerance;
using loom_test::u_f;

namespace {

using loom_test::mat;
using loom_test::mat_in;
using loom_test::vec_in;
using vec = loom_test::vec<float>;

constexpr int callers = 8;
constexpr int calls_per_caller = 3;

// Odd callers take a shape of at least parallel_threshold elements, whose passes split over
// the model's threads; even callers one below it, which runs on one thread.
bool large_for(int caller) {
  return caller % 2 == 1;
}
mat random_matrix(std::size_t rows, std::size_t cols, std::uint32_t seed, double spread) {
  mat m(rows, cols);
  loom_test::fill_normal(m, seed, 0, spread);
  return m;
}
vec random_vector(std::size_t n, std::uint32_t seed, double mean) {
  vec v(n);
  loom_test::fill_normal(v, seed, mean, 1);
  return v;
}

// Runs check(caller, call) calls_per_caller times on each of `callers` std::threads, started
// together, and returns their reports; an exception becomes a report that says so.
template <class Check>
std::vector<report> from_threads(const Check& check) {
  std::vector<std::vector<report>> reports(callers);
  std::latch start(callers);
  std::vector<std::thread> threads;
  for (int c = 0; c < callers; ++c)
    threads.emplace_back([&, c] {
      start.arrive_and_wait();
      for (int k = 0; k < calls_per_caller; ++k) {
        const std::string what = "caller " + std::to_string(c) + " call " + std::to_string(k);
        try {
          reports[c].push_back(check(c, k, what));
        } catch (const std::exception& e) {
          reports[c].push_back(loom_test::not_compared(what, std::string("threw: ") + e.what()));
        }
      }
    });
  for (auto& t : threads) t.join();
  std::vector<report> all;
  for (auto& r : reports) all.insert(all.end(), r.begin(), r.end());
  return all;
}

void check_all(const std::vector<report>& reports) {
  REQUIRE(reports.size() == std::size_t(callers * calls_per_caller));
  for (const report& r : reports) LOOM_CHECK_REPORT(r);
}

// Each case below: the model (a generic lambda, so it also runs eagerly), its input
// declarations, random inputs for one call, and the check of a result against a double
// reference. `both` merges the reports of a model with two results.
report both(report a, const report& b) {
  if (a.ok()) return b;
  return a;
}

// Element-wise, with a bias broadcast over the rows: one map pass.
struct elementwise {
  static constexpr auto model = [](const auto& x, const auto& b) {
    return x * loom::sigmoid(x) + b;
  };
  static auto compile() { return loom::compile(model, mat_in{}, vec_in{}); }
  static constexpr int hooks = 0;

  struct data {
    mat x;
    vec b;
    auto args() const { return std::tie(x, b); }
  };
  static data make(std::uint32_t seed, bool large) {
    const std::size_t rows = large ? 90 : 40, cols = large ? 500 : 300;
    return {random_matrix(rows, cols, seed, 4), random_vector(cols, seed + 1, 0)};
  }
  // sigmoid is within 1e-6 relative plus 2e-7 absolute (ops_unary_test), which x scales; the
  // multiply and add round twice, or once where the compiler contracts them into an FMA:
  // either way within 2e-6 of |x| + |b|.
  static report check(const mat& got, const data& d, std::string what) {
    const std::size_t cols = d.x.extent(1);
    return compare_scaled(
        got,
        [&](std::size_t i) {
          const double x = d.x.data()[i];
          return x / (1 + std::exp(-x)) + d.b(i % cols);
        },
        [&](std::size_t i) { return std::abs(d.x.data()[i]) + std::abs(d.b(i % cols)); },
        tolerance{2e-6, 0},
        std::move(what));
  }
};

// softmax and layer norm over the rows: passes that split by rows.
struct row_passes {
  static constexpr auto model = [](const auto& x, const auto& g, const auto& b) {
    return std::make_tuple(loom::softmax(x), loom::layer_norm(x, g, b, 1e-5));
  };
  static auto compile() { return loom::compile(model, mat_in{}, vec_in{}, vec_in{}); }
  static constexpr int hooks = 0;

  struct data {
    mat x;
    vec g, b;
    auto args() const { return std::tie(x, g, b); }
  };
  static data make(std::uint32_t seed, bool large) {
    const std::size_t rows = large ? 100 : 20, cols = large ? 400 : 300;
    return {random_matrix(rows, cols, seed, 3),
            random_vector(cols, seed + 1, 1),
            random_vector(cols, seed + 2, 0)};
  }
  // As composites_test: softmax within 32 ulps relative (exp of x - max, a sum of up to 400
  // terms, one inverse); layer norm within 8 ulps of the scale rows_reference.hpp gives.
  static report check(const std::tuple<mat, mat>& got, const data& d, const std::string& what) {
    const std::size_t rows = d.x.extent(0), cols = d.x.extent(1);
    return both(compare(std::get<0>(got),
                        loom_test::softmax_rows_reference(d.x.data(), rows, cols),
                        tolerance{32 * eps_f, 1e-30},
                        what + " softmax"),
                compare(std::get<1>(got),
                        loom_test::layer_norm_rows_reference(
                            d.x.data(), rows, cols, d.g.data(), d.b.data(), 1e-5),
                        tolerance{8 * eps_f, 0},
                        what + " layer_norm"));
  }
};

// A GEMM with bias, relu and residual as its epilogue: row blocks with Eigen's product.
struct gemm_epilogue {
  static constexpr std::size_t k = 48;
  static constexpr auto model = [](const auto& x, const auto& w, const auto& b) {
    return loom::relu(loom::matmul(x, w) + b) + x;
  };
  static auto compile() {
    return loom::compile(model,
                         loom::input<float, extents<dyn, k>>{},
                         loom::input<float, extents<k, k>>{},
                         loom::input<float, extents<k>>{});
  }
  static constexpr int hooks = 0;

  struct data {
    loom::tensor<float, extents<dyn, k>> x;
    loom::tensor<float, extents<k, k>> w;
    loom::tensor<float, extents<k>> b;
    auto args() const { return std::tie(x, w, b); }
  };
  static data make(std::uint32_t seed, bool large) {
    data d{loom::tensor<float, extents<dyn, k>>(large ? 800 : 100), {}, {}};
    loom_test::fill_normal(d.x, seed, 0, 1);
    loom_test::fill_normal(d.w, seed + 1, 0, 0.2);
    loom_test::fill_normal(d.b, seed + 2, 0, 1);
    return d;
  }
  // A k-term dot product is within k units of roundoff of the sum of its terms' magnitudes,
  // in any order and with or without FMAs; the bias and residual adds round twice more, and
  // relu adds nothing. So (k + 2) u of (sum |terms| + |b| + |x|).
  template <class Got>
  static report check(const Got& got, const data& d, std::string what) {
    const loom_test::reference p = loom_test::product_reference(
        got.shape(), k, loom_test::reader(d.x), loom_test::reader(d.w));
    return compare_scaled(
        got,
        [&](std::size_t i) {
          return std::max(p.value[i] + d.b(i % k), 0.0) + double(d.x.data()[i]);
        },
        [&](std::size_t i) { return p.scale[i] + std::abs(d.b(i % k)) + std::abs(d.x.data()[i]); },
        tolerance{double(k + 2) * u_f, 0},
        std::move(what));
  }
};

// Each row reversed: a whole-tensor F, so a barrier between two passes.
struct reverse_rows {
  using granularity = loom::whole_tensor;
  void operator()(loom::tensor_view<const float, extents<dyn, dyn>> in,
                  loom::tensor_view<float, extents<dyn, dyn>> out) const {
    const std::size_t cols = in.extent(1);
    for (std::size_t r = 0; r < in.extent(0); ++r)
      for (std::size_t c = 0; c < cols; ++c) out(r, c) = in(r, cols - 1 - c);
  }
};

// What the hook saw last on this thread: hooks run on the calling thread, so a thread_local
// is each caller's own. The count is shared by every call: an atomic.
thread_local float hook_first = 0;
thread_local std::size_t hook_size = 0;
std::atomic<int> hook_calls{0};

struct record_hook {
  void operator()(loom::tensor_view<const float, extents<dyn, dyn>> v) const {
    hook_first = v.size() ? v.data()[0] : 0;
    hook_size = v.size();
    hook_calls.fetch_add(1, std::memory_order_relaxed);
  }
};

struct call_and_hook {
  static constexpr auto model = [](const auto& x, const auto& y) {
    return loom::hook(loom::allow_in_graph<reverse_rows>{}(x * 2.f), record_hook{}) + y;
  };
  static auto compile() { return loom::compile(model, mat_in{}, mat_in{}); }
  static constexpr int hooks = 1;  // calls per run

  struct data {
    mat x, y;
    auto args() const { return std::tie(x, y); }
  };
  static data make(std::uint32_t seed, bool large) {
    const std::size_t rows = large ? 100 : 30, cols = large ? 400 : 200;
    return {random_matrix(rows, cols, seed, 2), random_matrix(rows, cols, seed + 1, 2)};
  }
  // 2x is exact and stored for F, so only the add rounds: half an ulp. The hook must have
  // seen this call's value, 2 x reversed, not another thread's.
  static report check(const mat& got, const data& d, std::string what) {
    const std::size_t cols = d.x.extent(1);
    if (hook_size != d.x.size() || hook_first != 2 * d.x(0, cols - 1))
      return loom_test::not_compared(what, "the hook on this thread saw another call's value");
    return loom_test::compare_with(
        got,
        [&](std::size_t i) {
          return 2.0 * d.x.data()[i - i % cols + cols - 1 - i % cols] + d.y.data()[i];
        },
        tolerance{u_f, 0},
        std::move(what));
  }
};

std::uint32_t seed_of(int caller, int call) {
  return 1000u + 10u * std::uint32_t(caller * calls_per_caller + call);
}

// Every caller runs the same compiled model (`omp` threads of its own) on its own inputs.
template <class Case>
void compiled_from_threads(int omp) {
  auto m = Case::compile();
  m.set_threads(omp);
  check_all(from_threads([&](int caller, int call, const std::string& what) {
    const auto d = Case::make(seed_of(caller, call), large_for(caller));
    return Case::check(std::apply(m, d.args()), d, what);
  }));
}

// The same model run eagerly, op by op, from every caller at once: each op's result comes
// from, and goes back to, the shared buffer pool.
template <class Case>
void eager_from_threads() {
  check_all(from_threads([&](int caller, int call, const std::string& what) {
    const auto d = Case::make(seed_of(caller, call), large_for(caller));
    return Case::check(std::apply(Case::model, d.args()), d, what);
  }));
}

}  // namespace

// Each case runs as a compiled model from every caller at once, with one OpenMP thread of its
// own and with three; then the same model eagerly, op by op, with loom::num_threads() 1 and 3.
TEMPLATE_TEST_CASE("one compiled model serves 8 threads at once",
                   "[concurrency]",
                   elementwise,
                   row_passes,
                   gemm_epilogue,
                   call_and_hook) {
  for (bool large : {false, true})
    REQUIRE((TestType::make(1, large).x.size() >= loom::cpu::parallel_threshold) == large);
  const int omp = GENERATE(1, 3);
  INFO("the model's own threads: " << omp);
  hook_calls = 0;
  compiled_from_threads<TestType>(omp);
  // Once per call, whatever the threads.
  CHECK(hook_calls == TestType::hooks * callers * calls_per_caller);
}

TEMPLATE_TEST_CASE("eager ops from 8 threads at once share the buffer pool",
                   "[concurrency][eager]",
                   elementwise,
                   row_passes,
                   gemm_epilogue,
                   call_and_hook) {
  const int omp = GENERATE(1, 3);
  INFO("loom::num_threads(): " << omp);
  struct restore_default {
    ~restore_default() { loom::set_num_threads(0); }
  } restore;
  loom::set_num_threads(omp);
  hook_calls = 0;
  eager_from_threads<TestType>();
  CHECK(hook_calls == TestType::hooks * callers * calls_per_caller);
}
