// The code of docs/guide.md. Each region between `// [snippet:NAME]` and `// [/snippet:NAME]`
// appears verbatim in a code block of the guide that starts with `// snippet: NAME`, and each
// raw string between `// [output:NAME]` and `// [/output:NAME]` is a printed output the guide
// shows; the CTest test docs_snippets_in_sync (tests/docs/check_snippets.cmake) keeps the two
// identical. The CHECKs outside the regions hold the hand-computed results the guide promises.
#include <Eigen/Core>
#include <algorithm>
#include <cassert>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <loom/loom.hpp>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif

// Global (not in an anonymous namespace), so that explain() prints the plain name.
// [snippet:seed_model]
struct custom_hook_function {  // opaque: loom never traces into it
  float operator()(float x) const {
    float r = x * 2;
    r += 10;
    return r;
  }
};

auto my_model = [](auto x) {
  auto y = loom::relu(x);                                  // traced
  return loom::allow_in_graph<custom_hook_function>{}(y);  // one opaque node
};
// [/snippet:seed_model]

// [snippet:opaque_binary]
// Soft thresholding, as a library would provide it: loom calls it, never looks into it.
struct soft_threshold {
  float operator()(float x, float t) const {
    return std::copysign(std::max(std::abs(x) - t, 0.f), x);
  }
};
// [/snippet:opaque_binary]

// [snippet:opaque_declarations]
// Computes in double and says so: the node's dtype is f64, not its first input's f32.
struct precise_log1p {
  using output_type = double;
  double operator()(float x) const { return std::log1p(static_cast<double>(x)); }
};

// Appends every value it sees to a log: a side effect, so it declares itself impure.
struct record_values {
  static constexpr bool is_pure = false;
  std::vector<float>* log;
  float operator()(float x) const {
    log->push_back(x);
    return x;
  }
};
// [/snippet:opaque_declarations]

// [snippet:opaque_traits]
namespace vendor {  // code you cannot edit
struct quantize {
  int operator()(float x) const { return static_cast<int>(std::lround(x * 127.f)); }
};
}  // namespace vendor

namespace loom {
template <>
struct opaque_traits<vendor::quantize> {
  template <class... Inputs>
  using output_type = std::int32_t;      // the node's dtype
  static constexpr bool is_pure = true;  // may be merged, may run on many threads
};
}  // namespace loom
// [/snippet:opaque_traits]

TEST_CASE("guide: the seed program, fused and eager", "[docs]") {
  // [snippet:seed_run]
  auto compiled = loom::compile(my_model, loom::input<float, loom::extents<loom::dyn>>{});
  static_assert(decltype(compiled)::kernel_count == 1);  // fusion checked at compile time

  loom::tensor<float> x(4);
  x(0) = -2.f, x(1) = -0.5f, x(2) = 1.f, x(3) = 3.f;
  loom::tensor<float> out = compiled(x);  // fused: one pass, relu and the call per element
  loom::tensor<float> ref = my_model(x);  // eager: relu into a tensor, then the call
  // out and ref: 10 10 12 16
  // [/snippet:seed_run]
  const float expect[] = {10.f, 10.f, 12.f, 16.f};
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(out(i) == expect[i]);
    CHECK(ref(i) == expect[i]);
  }
}

TEST_CASE("guide: tensors and extents", "[docs][tensor]") {
  // [snippet:tensors]
  using loom::dyn;
  loom::tensor<float, loom::extents<dyn, 1024>> batch(8);       // only the dynamic extents
  loom::tensor<float, loom::extents<dyn, 1024>> same(8, 1024);  // or all of them
  loom::tensor<double, loom::extents<2, 3>> fixed;              // all static: no arguments
  loom::tensor<std::int32_t> counts(10);                        // extents<dyn> by default
  loom::tensor<bool> mask(10);

  batch(7, 1023) = 1.5f;  // row-major: the element at batch.data()[7 * 1024 + 1023]
  // batch.shape().to_string() == "[8, 1024]", batch.size() == 8192, batch.extent(1) == 1024

  auto copy = batch;             // a deep copy, as for Eigen's dense objects
  auto moved = std::move(copy);  // free: the buffer changes hands
  // [/snippet:tensors]
  CHECK(batch.shape().to_string() == "[8, 1024]");
  CHECK(batch.size() == 8192);
  CHECK(batch.extent(1) == 1024);
  CHECK(batch.data()[7 * 1024 + 1023] == 1.5f);
  CHECK(same.shape() == batch.shape());
  CHECK(fixed.shape().to_string() == "[2, 3]");
  CHECK(counts.size() == 10);
  CHECK(mask.size() == 10);
  CHECK(moved(7, 1023) == 1.5f);
  CHECK(moved.data() != batch.data());
  CHECK(reinterpret_cast<std::uintptr_t>(batch.data()) % 64 == 0);
}

TEST_CASE("guide: views over memory loom does not own", "[docs][tensor]") {
  // [snippet:views]
  std::vector<float> storage(12, 0.f);
  loom::tensor_view<float, loom::extents<3, 4>> grid(storage.data());  // all static
  loom::tensor_view<float, loom::extents<loom::dyn, 4>> rows(storage.data(), 3);
  loom::tensor_view<const float> flat(storage.data(), storage.size());  // read-only, [?]

  grid(1, 2) = 7.f;  // writes storage[1 * 4 + 2]

  loom::tensor<float> t(12);
  loom::tensor_view<const float> read_t = t;  // a tensor converts to a view of itself
  // [/snippet:views]
  CHECK(storage[6] == 7.f);
  CHECK(rows(1, 2) == 7.f);
  CHECK(flat(6) == 7.f);
  CHECK(read_t.data() == t.data());
  CHECK(read_t.size() == 12);
}

TEST_CASE("guide: Eigen interop", "[docs][eigen]") {
  // [snippet:eigen]
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> a(2, 3);
  a << 1, 2, 3, 4, 5, 6;
  auto va = loom::from_eigen(a);  // tensor_view<float, extents<dyn, dyn>>, [2, 3], no copy

  Eigen::MatrixXf b(2, 3);  // column-major, Eigen's default
  b << 1, 2, 3, 4, 5, 6;
  // loom::from_eigen(b) does not compile: it would transpose b silently.
  auto bt = loom::from_eigen_transposed(b);  // [3, 2], and bt(j, i) == b(i, j)

  Eigen::VectorXf v = Eigen::VectorXf::LinSpaced(4, -1.f, 2.f);  // -1 0 1 2
  auto vv = loom::from_eigen<1>(v);                              // rank 1: [4]

  loom::tensor<float, loom::extents<loom::dyn, loom::dyn>> doubled = va * 2.f;  // eager op
  Eigen::MatrixXf back = loom::to_eigen(doubled);  // a row-major Map; assigning converts layout

  Eigen::VectorXf result(4);
  auto compiled = loom::compile(my_model, loom::input<float, loom::extents<loom::dyn>>{});
  compiled.run(loom::from_eigen<1>(result), vv);  // Eigen in, Eigen out, no copies
  // back(1, 2) == 12, result: 10 10 12 14
  // [/snippet:eigen]
  CHECK(va.data() == a.data());
  CHECK(va.shape().to_string() == "[2, 3]");
  CHECK(va(1, 2) == 6.f);
  CHECK(bt.shape().to_string() == "[3, 2]");
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      CHECK(bt(j, i) == b(i, j));
      CHECK(back(i, j) == 2.f * a(i, j));
    }
  CHECK(back(1, 2) == 12.f);
  CHECK(vv.shape().to_string() == "[4]");
  CHECK(result(0) == 10.f);
  CHECK(result(1) == 10.f);
  CHECK(result(2) == 12.f);
  CHECK(result(3) == 14.f);
}

TEST_CASE("guide: one model, three modes", "[docs][modes]") {
  // [snippet:eager]
  auto model = [](auto x, auto y) {
    return x * loom::sigmoid(x) + y;
  };

  loom::tensor<float> x(3), y(3);
  x(0) = 0.f, x(1) = 2.f, x(2) = -2.f;
  y(0) = 1.f, y(1) = 1.f, y(2) = 1.f;
  loom::tensor<float> eager = model(x, y);  // sigmoid, mul, add: three tensors, one per op
  // eager: 1, 1 + 2 * sigmoid(2), 1 - 2 * sigmoid(-2)
  // [/snippet:eager]

  // [snippet:traced]
  using vector_input = loom::input<float, loom::extents<loom::dyn>>;
  auto traced = loom::compile(model, vector_input{}, vector_input{});
  loom::tensor<float> fused = traced(x, y);  // one pass, no temporaries
  // [/snippet:traced]

  // [snippet:traced_examples]
  auto from_examples = loom::compile(model, x, y);  // the dtypes and extents of x and y
  static_assert(std::is_same_v<decltype(from_examples), decltype(traced)>);
  // [/snippet:traced_examples]

  // [snippet:scripted]
  loom::placeholder<0, float, loom::extents<loom::dyn>> px;
  loom::placeholder<1, float, loom::extents<loom::dyn>> py;
  auto scripted = loom::compile(px * loom::sigmoid(px) + py);
  static_assert(std::is_same_v<decltype(scripted)::graph_type, decltype(traced)::graph_type>);
  loom::tensor<float> script = scripted(x, y);
  // [/snippet:scripted]

  const double s2 = 1.0 / (1.0 + std::exp(-2.0));
  const double expect[] = {1.0, 1.0 + 2.0 * s2, 1.0 - 2.0 * (1.0 - s2)};
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(eager(i) == Approx(expect[i]).epsilon(1e-6));
    CHECK(fused(i) == Approx(expect[i]).epsilon(1e-6));
    CHECK(script(i) == fused(i));
  }
  CHECK(from_examples(x, y)(1) == fused(1));

  // [snippet:dynamic_mismatch]
  loom::tensor<float> four(4);
  std::string message;
  try {
    traced(x, four);  // x is [3]
  } catch (const loom::shape_error& e) {
    message = e.what();  // "loom: add: shapes [3] and [4] do not broadcast"
  }
  // [/snippet:dynamic_mismatch]
  CHECK(message == "loom: add: shapes [3] and [4] do not broadcast");
  REQUIRE_THROWS_WITH(model(x, four), "loom: add: shapes [3] and [4] do not broadcast");
}

TEST_CASE("guide: static extents and broadcasting", "[docs][shape]") {
  // [snippet:broadcasting]
  using loom::dyn;
  auto dense = loom::compile([](auto x, auto bias) { return loom::relu(x + bias); },
                             loom::input<float, loom::extents<dyn, 4>>{},
                             loom::input<float, loom::extents<4>>{});
  loom::tensor<float, loom::extents<dyn, 4>> x(2);  // 2 x 4
  loom::tensor<float, loom::extents<4>> bias;
  for (std::size_t j = 0; j < 4; ++j) {
    x(0, j) = static_cast<float>(j);  // 0 1 2 3
    x(1, j) = -x(0, j);               // 0 -1 -2 -3
    bias(j) = 1.f;
  }
  loom::tensor<float, loom::extents<dyn, 4>> y = dense(x, bias);  // bias added to each row
  // y: 1 2 3 4 / 1 0 0 0
  // [/snippet:broadcasting]
  const float expect[2][4] = {{1, 2, 3, 4}, {1, 0, 0, 0}};
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 4; ++j) CHECK(y(i, j) == expect[i][j]);

  // [snippet:shape_error]
  loom::tensor<float, loom::extents<dyn, dyn>> wide(2, 5);
  std::string message;
  try {
    dense(wide, bias);  // [?, ?] is accepted at compile time, checked on entry
  } catch (const loom::shape_error& e) {
    message = e.what();  // "loom: input 0 has shape [2, 5] but the model was compiled for [?, 4]"
  }
  // [/snippet:shape_error]
  CHECK(message == "loom: input 0 has shape [2, 5] but the model was compiled for [?, 4]");
  REQUIRE_THROWS_AS((loom::tensor<float, loom::extents<dyn, 4>>(3, 5)), loom::shape_error);
}

TEST_CASE("guide: half precision", "[docs][dtype]") {
  // [snippet:half_precision]
  loom::tensor<loom::bf16> x(4);
  loom::tensor<loom::f16> w(4);
  for (std::size_t k = 0; k < 4; ++k) {
    x(k) = 0.1f * static_cast<float>(k);  // rounded to bf16: 0 0.10009766 0.20019531 0.30078125
    w(k) = 1.f / 3;                       // rounded to f16: 0.33325195
  }
  auto y = x * 2.0 + 1.f;                         // bf16: the scalars are weak
  loom::tensor<float> z = x * w;                  // bf16 and f16 promote to f32
  auto s = loom::sum(loom::cast<loom::bf16>(w));  // rank 0, bf16, folded in f32
  float first = y(1);                             // converts to float: 1.203125
  // [/snippet:half_precision]
  STATIC_REQUIRE(std::is_same_v<decltype(y)::value_type, loom::bf16>);
  STATIC_REQUIRE(std::is_same_v<decltype(s)::value_type, loom::bf16>);
  const double xs[] = {0.0, 0.10009765625, 0.2001953125, 0.30078125};
  for (std::size_t k = 0; k < 4; ++k) {
    CHECK(double(float(x(k))) == xs[k]);
    CHECK(double(z(k)) == Approx(xs[k] * 1365.0 / 4096).epsilon(1e-7));
  }
  CHECK(double(float(w(0))) == 1365.0 / 4096);
  CHECK(first == 1.203125f);
  CHECK(float(s()) == float(loom::bf16(4 * 1365.f / 4096)));
}

TEST_CASE("guide: dtype promotion and weak scalars", "[docs][dtype]") {
  // [snippet:dtypes]
  loom::tensor<std::int32_t> i(3);
  loom::tensor<float> f(3);
  for (std::size_t k = 0; k < 3; ++k) {
    i(k) = static_cast<std::int32_t>(k) + 1;  // 1 2 3
    f(k) = 0.5f * static_cast<float>(k);      // 0 0.5 1
  }
  loom::tensor<float> a = i + f;                   // i32 and f32 promote to f32: 1 2.5 4
  loom::tensor<float> b = i / 2;                   // true division: 0.5 1 1.5
  loom::tensor<std::int32_t> c = i * 3;            // an int scalar keeps i32: 3 6 9
  loom::tensor<float> d = f * 2.0;                 // a double scalar is weak: f32, 0 1 2
  loom::tensor<float> e = i * 0.5;                 // weak, but keeps its fraction: f32
  loom::tensor<bool> m = f < 0.75f;                // comparisons give bool: 1 1 0
  loom::tensor<float> g = loom::where(m, f, 9.f);  // 0 0.5 9
  loom::tensor<double> h = loom::cast<double>(f);  // explicit conversion
  loom::tensor<float> s = loom::sqrt(i);           // math on integers gives f32
  // [/snippet:dtypes]
  const float ea[] = {1.f, 2.5f, 4.f}, eb[] = {0.5f, 1.f, 1.5f}, ed[] = {0.f, 1.f, 2.f},
              eg[] = {0.f, 0.5f, 9.f};
  const std::int32_t ec[] = {3, 6, 9};
  const bool em[] = {true, true, false};
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(a(k) == ea[k]);
    CHECK(b(k) == eb[k]);
    CHECK(c(k) == ec[k]);
    CHECK(d(k) == ed[k]);
    CHECK(e(k) == eb[k]);
    CHECK(m(k) == em[k]);
    CHECK(g(k) == eg[k]);
    CHECK(h(k) == static_cast<double>(f(k)));
    CHECK(s(k) == Approx(std::sqrt(double(k + 1))));
  }
}

TEST_CASE("guide: run-time scalars and compile-time literals", "[docs][scalars]") {
  loom::tensor<float> x(2);
  x(0) = 1.f, x(1) = -3.f;
  // [snippet:runtime_scalars]
  auto scale_by = [](float alpha) {
    return loom::compile([alpha](auto x) { return x * alpha; },
                         loom::input<float, loom::extents<loom::dyn>>{});
  };
  auto twice = scale_by(2.f);
  auto thrice = scale_by(3.f);
  static_assert(std::is_same_v<decltype(twice), decltype(thrice)>);  // one compiled kernel
  // twice(x) == 2 * x, thrice(x) == 3 * x
  // [/snippet:runtime_scalars]
  CHECK(twice(x)(0) == 2.f);
  CHECK(twice(x)(1) == -6.f);
  CHECK(thrice(x)(0) == 3.f);
  CHECK(thrice(x)(1) == -9.f);

  // [snippet:scalar_read_once]
  float alpha = 2.f;
  auto scaled = loom::compile([&alpha](auto x) { return x * alpha; },
                              loom::input<float, loom::extents<loom::dyn>>{});
  alpha = 5.f;  // too late: compile() has read 2
  // scaled(x) == 2 * x
  // [/snippet:scalar_read_once]
  CHECK(scaled(x)(0) == 2.f);
  CHECK(scaled(x)(1) == -6.f);

  // [snippet:literals]
  auto twice_lit = loom::compile([](auto x) { return x * loom::lit<2.f>; },
                                 loom::input<float, loom::extents<loom::dyn>>{});
  // 2 is in the type: it folds into the code, and loom::lit<3.f> would give another type
  // [/snippet:literals]
  CHECK(twice_lit(x)(0) == 2.f);
  CHECK(twice_lit(x)(1) == -6.f);
  STATIC_REQUIRE(!std::is_same_v<decltype(twice_lit), decltype(twice)>);
}

namespace named_dims_snippet {
// [snippet:named_dims]
struct rows;  // a name: any type
using named_rows = loom::input<float, loom::extents<loom::dyn>, loom::dims<rows>>;
auto both = loom::compile(
    [](auto x, auto y) { return std::make_tuple(-x, -y); }, named_rows{}, named_rows{});
static_assert(decltype(both)::kernel_count == 1);  // unnamed: 2

using tokens_by_8 =
    loom::input<float, loom::extents<loom::dyn, 8>, loom::dims<rows, loom::unnamed>>;
auto per_row = loom::compile(
    [](auto x, auto scale) { return std::make_tuple(loom::sum(x, loom::axes<1>), scale * 2.f); },
    tokens_by_8{},
    named_rows{});  // scale has one value per row of x
static_assert(decltype(per_row)::kernel_count == 1);
// [/snippet:named_dims]
}  // namespace named_dims_snippet

TEST_CASE("guide: named dynamic extents", "[docs][dims]") {
  using namespace named_dims_snippet;
  loom::tensor<float, loom::extents<loom::dyn>> x(5), y(5), bad(6);
  for (std::size_t i = 0; i < 5; ++i) x(i) = float(i), y(i) = 0.5f * float(i);
  const auto [nx, ny] = both(x, y);
  for (std::size_t i = 0; i < 5; ++i) CHECK((nx(i) == -x(i) && ny(i) == -y(i)));
  CHECK_THROWS_WITH(both(x, bad),
                    Catch::Contains("but input 0 has shape [5] and input 1 has shape [6]"));
  loom::tensor<float, loom::extents<loom::dyn, 8>> m(5);
  for (std::size_t i = 0; i < m.size(); ++i) m.data()[i] = float(i % 3);
  const auto [sums, doubled] = per_row(m, x);
  for (std::size_t t = 0; t < 5; ++t) {
    double want = 0;
    for (std::size_t j = 0; j < 8; ++j) want += m(t, j);
    CHECK(sums(t) == Approx(want));
    CHECK(doubled(t) == 2 * x(t));
  }
}

TEST_CASE("guide: common subexpressions", "[docs][cse]") {
  // [snippet:cse]
  using vector_input = loom::input<float, loom::extents<loom::dyn>>;
  auto once = loom::compile(
      [](auto x) {
        auto e = loom::exp(x - loom::lit<1.f>);
        return e / (e + loom::exp(x - loom::lit<1.f>));  // the same exp(x - 1): one node
      },
      vector_input{});
  static_assert(decltype(once)::node_count == 6);  // x, 1, sub, exp, add, div

  auto again = loom::compile(
      [](auto x) {
        auto y = x * 2.f;  // built from a run-time scalar, and used twice...
        return y * y;      // ...but computed once: x, 2, mul, mul
      },
      vector_input{});
  static_assert(decltype(again)::node_count == 4);

  auto two = loom::compile([](auto x) { return x * 2.f + x * 3.f; }, vector_input{});
  // x * 2.f and x * 3.f have one type; compile() finds their scalars differ, and the model
  // runs op by op, computing both
  assert(two.apart() != nullptr);
  // [/snippet:cse]
  CHECK(two.apart() != nullptr);  // assert is off in release builds
  loom::tensor<float> x(2);
  x(0) = 1.f, x(1) = -2.f;
  CHECK(once(x)(0) == Approx(0.5));
  CHECK(once(x)(1) == Approx(0.5));
  CHECK(two(x)(0) == 5.f);
  CHECK(two(x)(1) == -10.f);
  CHECK(again(x)(0) == 4.f);
  CHECK(again(x)(1) == 16.f);
}

TEST_CASE("guide: allow_in_graph, element-wise", "[docs][opaque]") {
  // [snippet:opaque_use]
  auto shrink =
      loom::compile([](auto x) { return loom::allow_in_graph<soft_threshold>{}(x, 0.5f) * 2.f; },
                    loom::input<float, loom::extents<loom::dyn>>{});
  static_assert(decltype(shrink)::kernel_count == 1);  // F is a call inside the fused loop

  loom::tensor<float> x(4);
  x(0) = -2.f, x(1) = 0.25f, x(2) = 0.5f, x(3) = 1.5f;
  loom::tensor<float> y = shrink(x);  // -3 0 0 2
  // [/snippet:opaque_use]
  const float expect[] = {-3.f, 0.f, 0.f, 2.f};
  for (std::size_t i = 0; i < 4; ++i) CHECK(y(i) == expect[i]);
  const loom::tensor<float> eager = loom::allow_in_graph<soft_threshold>{}(x, 0.5f);
  for (std::size_t i = 0; i < 4; ++i) CHECK(eager(i) == expect[i] / 2);
}

TEST_CASE("guide: what an opaque callable declares", "[docs][opaque]") {
  // [snippet:opaque_declared_use]
  loom::tensor<float> x(3);
  x(0) = 0.f, x(1) = 1.f, x(2) = -0.5f;

  auto precise = loom::compile([](auto x) { return loom::allow_in_graph<precise_log1p>{}(x); },
                               loom::input<float, loom::extents<loom::dyn>>{});
  loom::tensor<double> l = precise(x);  // f64 result from an f32 input

  std::vector<float> seen;
  auto logged = loom::compile(
      [&seen](auto x) { return loom::square(loom::allow_in_graph<record_values>{{&seen}}(x)); },
      loom::input<float, loom::extents<loom::dyn>>{});
  loom::tensor<float> sq = logged(x);  // seen: 0 1 -0.5, in some order; sq: 0 1 0.25
  // [/snippet:opaque_declared_use]
  CHECK(l(0) == 0.0);
  CHECK(l(1) == std::log1p(1.0));
  CHECK(l(2) == std::log1p(-0.5));
  REQUIRE(seen.size() == 3);
  std::sort(seen.begin(), seen.end());
  CHECK(seen == std::vector<float>{-0.5f, 0.f, 1.f});
  CHECK(sq(0) == 0.f);
  CHECK(sq(1) == 1.f);
  CHECK(sq(2) == 0.25f);

  // [snippet:opaque_traits_use]
  auto quantized = loom::compile([](auto x) { return loom::allow_in_graph<vendor::quantize>{}(x); },
                                 loom::input<float, loom::extents<loom::dyn>>{});
  loom::tensor<std::int32_t> q = quantized(x);  // 0 127 -64
  // [/snippet:opaque_traits_use]
  CHECK(q(0) == 0);
  CHECK(q(1) == 127);
  CHECK(q(2) == -64);
}

TEST_CASE("guide: an impure result used twice", "[docs][opaque][impure]") {
  // [snippet:impure_reuse]
  std::vector<float> seen;
  auto squared = loom::compile(
      [&seen](auto x) {
        auto y = loom::allow_in_graph<record_values>{{&seen}}(x);
        return y * y;  // one call, its result used twice
      },
      loom::input<float, loom::extents<loom::dyn>>{});
  loom::tensor<float> x(3);
  x(0) = 1.f, x(1) = 2.f, x(2) = 3.f;
  loom::tensor<float> y = squared(x);  // 1 4 9; record_values ran 3 times, not 6
  // [/snippet:impure_reuse]
  CHECK(seen.size() == 3);
  CHECK(y(0) == 1.f);
  CHECK(y(1) == 4.f);
  CHECK(y(2) == 9.f);
  seen.clear();
  loom::tensor<float> e = [&seen](auto x) {  // the same model, eager
    auto y = loom::allow_in_graph<record_values>{{&seen}}(x);
    return y * y;
  }(x);
  CHECK(seen.size() == 3);
  CHECK(e(2) == 9.f);

  // [snippet:impure_across_groups]
  auto shared = loom::compile(
      [&seen](auto v, auto m) {
        auto y = loom::allow_in_graph<record_values>{{&seen}}(v);
        return std::make_tuple(y * 2.f, y + m);  // [4] and [3, 4]: two fusion groups
      },
      loom::input<float, loom::extents<4>>{},
      loom::input<float, loom::extents<3, 4>>{});
  loom::tensor<float, loom::extents<4>> v;
  loom::tensor<float, loom::extents<3, 4>> m;
  v.fill(1.f);
  m.fill(2.f);
  seen.clear();
  auto [twice, plus] = shared(v, m);  // y is stored once, by the first pass: seen has 4 values
  // [/snippet:impure_across_groups]
  CHECK(seen.size() == 4);
  CHECK(decltype(shared)::kernel_count == 2);
  for (std::size_t j = 0; j < 4; ++j) {
    CHECK(twice(j) == 2.f);
    for (std::size_t i = 0; i < 3; ++i) CHECK(plus(i, j) == 3.f);
  }
}

TEST_CASE("guide: running a compiled model", "[docs][run]") {
  auto compiled = loom::compile(my_model, loom::input<float, loom::extents<loom::dyn>>{});
  loom::tensor<float> x(4);
  x(0) = -2.f, x(1) = -0.5f, x(2) = 1.f, x(3) = 3.f;
  // [snippet:run_into]
  loom::tensor<float> fresh = compiled(x);  // a new tensor for the result

  loom::tensor<float> out(x.size());
  compiled.run(out, x);  // into out: no allocation; out must have the result's shape
  compiled.run(x, x);    // an output may be an input: x is updated in place
  // [/snippet:run_into]
  const float expect[] = {10.f, 10.f, 12.f, 16.f};
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(fresh(i) == expect[i]);
    CHECK(out(i) == expect[i]);
    CHECK(x(i) == expect[i]);
  }
  loom::tensor<float> short_out(3);
  REQUIRE_THROWS_WITH(compiled.run(short_out, x),
                      "loom: output 0 has shape [3] but the model produces [4]");
}

TEST_CASE("guide: running in place", "[docs][run]") {
  // [snippet:in_place]
  using loom::dyn;
  auto residual = loom::compile([](auto x, auto w) { return loom::matmul(x, w) + x; },
                                loom::input<float, loom::extents<dyn, 2>>{},
                                loom::input<float, loom::extents<2, 2>>{});
  auto mixing = loom::compile([](auto w, auto x) { return loom::matmul(w, x) + x; },
                              loom::input<float, loom::extents<2, 2>>{},
                              loom::input<float, loom::extents<2, dyn>>{});
  loom::tensor<float, loom::extents<2, 2>> w;
  w(0, 0) = 1.f, w(0, 1) = 2.f, w(1, 0) = 3.f, w(1, 1) = 4.f;
  loom::tensor<float, loom::extents<dyn, 2>> x(2);
  x(0, 0) = 1.f, x(0, 1) = 0.f, x(1, 0) = 0.f, x(1, 1) = 1.f;  // the identity

  residual.run(x, x, w);  // x = x w + x: each block of rows of x is read, then overwritten
  // x: 2 2 / 3 5

  std::string message;
  try {
    mixing.run(x, w, x);  // w x reads every row of x for each row of the product
  } catch (const loom::alias_error& e) {
    message = e.what();  // "loom: output 0 (shape [2, 2]) overlaps input 1 (shape [2, 2]),
                         // which is read after the output is written; ..."
  }
  // x is unchanged: the call was refused before anything was written
  // [/snippet:in_place]
  CHECK((x(0, 0) == 2.f && x(0, 1) == 2.f && x(1, 0) == 3.f && x(1, 1) == 5.f));
  CHECK_THAT(message,
             Catch::StartsWith("loom: output 0 (shape [2, 2]) overlaps input 1 (shape [2, 2]), "
                               "which is read after the output is written; run it into another "
                               "buffer"));
  loom::tensor<float, loom::extents<2, dyn>> y(2);
  y(0, 0) = 1.f, y(0, 1) = 2.f, y(1, 0) = 3.f, y(1, 1) = 4.f;
  loom::tensor<float, loom::extents<2, dyn>> out(2);
  mixing.run(out, w, y);  // into another buffer: w y + y
  CHECK((out(0, 0) == 8.f && out(0, 1) == 12.f && out(1, 0) == 18.f && out(1, 1) == 26.f));
}

TEST_CASE("guide: models with several results", "[docs][run]") {
  // [snippet:multi_output]
  auto split = loom::compile(
      [](auto x) {
        auto positive = loom::relu(x);
        return std::make_tuple(positive, positive - x);  // positive and negative parts
      },
      loom::input<float, loom::extents<loom::dyn>>{});
  static_assert(decltype(split)::kernel_count == 1);  // both results in one pass

  loom::tensor<float> x(4);
  x(0) = -2.f, x(1) = -0.5f, x(2) = 1.f, x(3) = 3.f;
  auto [pos, neg] = split(x);  // a std::tuple<loom::tensor<float>, loom::tensor<float>>
  // pos: 0 0 1 3, neg: 2 0.5 0 0

  loom::tensor<float> p(4), n(4);
  split.run(std::tie(p, n), x);  // into caller buffers
  // [/snippet:multi_output]
  const float ep[] = {0.f, 0.f, 1.f, 3.f}, en[] = {2.f, 0.5f, 0.f, 0.f};
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(pos(i) == ep[i]);
    CHECK(neg(i) == en[i]);
    CHECK(p(i) == ep[i]);
    CHECK(n(i) == en[i]);
  }
}

TEST_CASE("guide: threads", "[docs][threads]") {
  // [snippet:threads]
  loom::set_num_threads(4);  // the default of every model; 0 restores OpenMP's default
  auto compiled = loom::compile(my_model, loom::input<float, loom::extents<loom::dyn>>{});
  compiled.set_threads(1);  // this model only; 0 follows loom::num_threads() again
  // [/snippet:threads]
  CHECK(compiled.threads() == 1);
  compiled.set_threads(0);
#ifdef _OPENMP
  CHECK(compiled.threads() == 4);
#endif
  loom::tensor<float> big(std::size_t(1) << 17);
  for (std::size_t i = 0; i < big.size(); ++i) big(i) = static_cast<float>(i % 7) - 3.f;
  const loom::tensor<float> r = compiled(big);  // above the threshold: threads if OpenMP
  for (std::size_t i = 0; i < big.size(); ++i) REQUIRE(r(i) == std::max(big(i), 0.f) * 2 + 10);
  loom::set_num_threads(0);
  // 0 means OpenMP's default, which num_threads() and the model's threads() give.
#ifdef _OPENMP
  CHECK(loom::num_threads() == omp_get_max_threads());
#else
  CHECK(loom::num_threads() == 1);
#endif
  CHECK(compiled.threads() == loom::num_threads());
}

TEST_CASE("guide: explain", "[docs][explain]") {
  // [snippet:explain]
  auto compiled = loom::compile(my_model, loom::input<float, loom::extents<loom::dyn>>{});
  static_assert(decltype(compiled)::kernel_count == 1);  // the build fails if fusion breaks
  std::string report = loom::explain(compiled);          // print it, log it, test it
  // [/snippet:explain]
  // [output:explain]
  const std::string expected = R"(graph: 3 nodes, 1 inputs, 1 outputs, 1 kernels, 1 groups
  %0 = input 0 : f32[?]
  %1 = relu %0 : f32[?]
  %2 = opaque<custom_hook_function> %1 : f32[?]  [element-wise, pure, fused as a call]
  return %2
group 0 (fused pass)
  step 0: map; reads %0; computes %1 %2; writes %2
  ends: end of graph
opaque nodes: 1 element-wise (fused as calls), 0 whole-tensor (barriers)
)";
  // [/output:explain]
  CHECK(report == expected);
}
