// Reductions on the GPU: sum, mean, max, min, prod and argmax over trailing axes (rows: a
// warp per row up to 2048 elements, a block per row beyond), non-trailing axes (one thread
// per result) and all axes, with and without keepdims; rows of whole vector packs and not;
// grid-stride loops over many rows; NaN propagation, argmax ties; size-1 axes; f64 and i32;
// a reduction alone in its pass, and fused with its producer and consumer.
//
// Each result is compared with a double-precision reference loop and with the CPU backend's
// result for the same model. Bounds: max, min and argmax pick an element (exact); i32 sums
// and products wrap (exact); a sum of n f32 terms is within n u (u = 2^-24) of the sum of
// their magnitudes in any order, which is tight enough to catch a lost or doubled term for
// n <= 256; beyond that the bound is u (256 + 4 sqrt(n)) times the magnitudes, far above the
// error of any tree or blocked order, and the exact tests (integer-valued floats, whose sums
// are exact in any order) catch a lost term instead. A product of n factors is within
// (n + 2) u of its value in any order.
#include <catch2/catch.hpp>
#include <loom/cuda.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../common/reduction_reference.hpp"
#include "support.hpp"

using namespace cuda_test;
using loom_test::expected_reduction;
using loom_test::mask_of;
using loom_test::name_of;
using loom_test::red;
using loom_test::reduce_over;
using loom_test::reduction_reference;

namespace {

using cube = loom::tensor<float, extents<dyn, dyn, dyn>>;
using mat = loom::tensor<float, extents<dyn, dyn>>;
using vec = loom::tensor<float, extents<dyn>>;
using cube_input = loom::input<float, extents<dyn, dyn, dyn>>;
using mat_input = loom::input<float, extents<dyn, dyn>>;

struct entry {
  red kind;
  bool keep;
};

// --- the reference (tests/common/reduction_reference.hpp) and its bounds ---------------------

// How a model's results may round: the unit roundoff of its dtype, whether its sums are exact
// (integer-valued floats, or i32), whether its dtype is i32 (wrapping, exact; mean is f32).
struct precision {
  double u = u_f;
  bool exact_sums = false;
  bool i32 = false;
};

double sum_rel(std::size_t n, double u) {
  return u * std::min(double(n), 256 + 4 * std::sqrt(double(n)));
}

// The reference for one result with its bound, as a `reference` (common/compare.hpp): a tolerance
// relative to the magnitudes (sums) or to the value (products, exact mean), or none.
std::pair<reference, tolerance> bound_for(red k, const expected_reduction& e, precision p) {
  reference r{e.shape, e.value, {}};
  const std::size_t n = e.count;
  switch (k) {
    case red::sum:
      if (p.exact_sums || p.i32) return {r, {}};
      r.scale = e.scale;
      return {r, {sum_rel(n, p.u), 0}};
    case red::mean:
      // The mean of i32 is f32; an exact sum leaves one division (and the i32 -> f32
      // conversion of the count).
      if (p.exact_sums || p.i32) return {r, {2 * u_f, 0}};
      r.scale = e.scale;
      return {r, {sum_rel(n, p.u) + 2 * p.u, 0}};
    case red::prod:
      if (p.i32) return {r, {}};
      return {r, {(double(n) + 2) * p.u, 0}};
    default:
      return {r, {}};
  }
}

// A result as doubles, so that the checks are compiled once rather than per result type.
struct values {
  loom::shape dims;
  std::vector<double> v;
  const loom::shape& shape() const { return dims; }
  std::size_t size() const { return v.size(); }
  const double* data() const { return v.data(); }
};

template <class Tensor>
values values_of(const Tensor& t) {
  values r{t.shape(), {}};
  r.v.reserve(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) r.v.push_back(as_double(t.data()[i]));
  return r;
}

template <class R>
std::vector<values> all_of(const R& r) {
  if constexpr (is_tuple_v<R>)
    return std::apply([](const auto&... t) { return std::vector<values>{values_of(t)...}; }, r);
  else
    return {values_of(r)};
}

// Checks the GPU's results against the reference, and against the CPU's within twice the
// bound (both round). `skip_prod`: the input's products over/underflow, unchecked.
void check_results(const std::vector<entry>& entries,
                   const std::vector<values>& gpu,
                   const std::vector<values>& cpu,
                   const std::vector<double>& x,
                   const loom::shape& in,
                   unsigned mask,
                   precision p,
                   const std::string& what,
                   bool skip_prod = false) {
  REQUIRE(gpu.size() == entries.size());
  REQUIRE(cpu.size() == entries.size());
  for (std::size_t k = 0; k < entries.size(); ++k) {
    const entry& en = entries[k];
    if (skip_prod && en.kind == red::prod) continue;
    const expected_reduction e = reduction_reference(en.kind, x.data(), in, mask, en.keep, p.i32);
    const auto [ref, tol] = bound_for(en.kind, e, p);
    const std::string label =
        what + ": " + name_of(en.kind) + (en.keep ? " keepdims" : "") + " of " + in.to_string();
    CT_CHECK_REPORT(compare(gpu[k], ref, tol, label + " vs double"));
    reference from_cpu{cpu[k].shape(), cpu[k].v, ref.scale};
    CT_CHECK_REPORT(compare(gpu[k], from_cpu, {2 * tol.rel, 2 * tol.abs}, label + " vs cpu"));
  }
}

template <class X>
std::vector<double> doubles_of(const X& x) {
  std::vector<double> r(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) r[i] = static_cast<double>(x.data()[i]);
  return r;
}

// Runs the CPU model and the GPU model both ways (run() into poisoned buffers, operator())
// on x and checks every result.
template <class Cpu, class Gpu, class X>
void run_and_check(const Cpu& cpu,
                   const Gpu& gpu,
                   const std::vector<entry>& entries,
                   const X& x,
                   unsigned mask,
                   precision p,
                   const std::string& what,
                   bool skip_prod = false) {
  const auto on_cpu = cpu(x);
  const auto dx = upload(x);
  const std::vector<values> cpu_values = all_of(on_cpu);
  const std::vector<double> xs = doubles_of(x);
  guarded(what + " " + x.shape().to_string(), [&] {
    const auto into = run_poisoned(gpu, on_cpu, nullptr, dx);
    const auto fresh = call_fresh(gpu, nullptr, dx);
    check_results(
        entries, all_of(into), cpu_values, xs, x.shape(), mask, p, what + " (run)", skip_prod);
    check_results(entries,
                  all_of(fresh),
                  cpu_values,
                  xs,
                  x.shape(),
                  mask,
                  p,
                  what + " (operator())",
                  skip_prod);
  });
}

// --- inputs -------------------------------------------------------------------------------------

// Random signs, magnitudes exp(U(-w, w)) with w shrinking with the element count, so that
// products over every axis stay far from overflow and underflow.
template <class T, class E>
loom::tensor<T, E> signed_tensor(const loom::shape& s, std::uint32_t seed) {
  loom::tensor<T, E> t(s);
  const double w = std::min(0.7, 4 / std::sqrt(double(std::max<std::size_t>(s.size(), 1))));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> magnitude(-w, w);
  std::bernoulli_distribution negative(0.5);
  for (auto& v : t) {
    const double m = std::exp(magnitude(gen));
    v = static_cast<T>(negative(gen) ? -m : m);
  }
  return t;
}

// --- models ----------------------------------------------------------------------------------
//
// Each reduction step costs the backend several kernels (one pass for the group, and a
// pass per step, each for vector packs or not and a warp or a block per row), so nvcc's time
// grows with the number of reductions in the file: each model below takes only the kinds its
// checks need. Between them every kind runs over trailing rows and over a non-trailing axis,
// with and without keepdims.

// A kind and keepdims as one template argument: 2 * kind + keep.
constexpr int code(red k, bool keep) {
  return 2 * int(k) + (keep ? 1 : 0);
}

template <int Code, int... A, class X>
auto reduce_one(const X& x) {
  return reduce_over<red(Code / 2), Code % 2 == 1, A...>(x);
}

template <int... A>
struct axes_list {};

// The reductions `Codes` over the axes A..., as one model returning a tuple.
template <class Axes, int... Codes>
struct model;
template <int... A, int... Codes>
struct model<axes_list<A...>, Codes...> {
  template <class X>
  auto operator()(const X& x) const {
    return std::make_tuple(reduce_one<Codes, A...>(x)...);
  }
  static std::vector<entry> entries() { return {entry{red(Codes / 2), Codes % 2 == 1}...}; }
  static constexpr unsigned mask() { return mask_of<3, A...>(); }
};

constexpr int k_sum = code(red::sum, false), k_sum_kd = code(red::sum, true);
constexpr int k_mean = code(red::mean, false), k_mean_kd = code(red::mean, true);
constexpr int k_max = code(red::max, false), k_max_kd = code(red::max, true);
constexpr int k_min = code(red::min, false), k_min_kd = code(red::min, true);
constexpr int k_prod = code(red::prod, false), k_prod_kd = code(red::prod, true);
constexpr int k_argmax = code(red::argmax, false), k_argmax_kd = code(red::argmax, true);

// Trailing rows, and the non-trailing axis 0: all six kinds, in two passes of three each
// (nvcc's time grows faster than the number of results in one model), keepdims on every
// other one and the other way round for axis 0.
using rows_a = model<axes_list<2>, k_sum, k_mean_kd, k_max>;
using rows_b = model<axes_list<2>, k_min_kd, k_prod, k_argmax_kd>;
using cols_a = model<axes_list<0>, k_sum_kd, k_mean, k_max_kd>;
using cols_b = model<axes_list<0>, k_min, k_prod_kd, k_argmax>;
using inner_model = model<axes_list<1, 2>, k_sum_kd, k_max, k_mean>;
using all_model = model<axes_list<0, 1, 2>, k_sum, k_mean_kd, k_argmax_kd>;
using middle_model = model<axes_list<1>, k_argmax_kd>;  // alone in its pass
// f64 and i32 over rows.
using f64_model = model<axes_list<2>, k_sum, k_argmax>;
using i32_model = model<axes_list<2>, k_sum, k_mean, k_prod>;

// Shapes: rows of 7 (scalar path), 128 (vector packs), 130 (not), 2100 (a block per row);
// size-1 axes in each place; a long strided axis (300 for axes {0}).
std::vector<cube> sweep_inputs() {
  const std::vector<loom::shape> shapes{make_shape({5, 6, 7}),
                                        make_shape({4, 3, 128}),
                                        make_shape({2, 3, 130}),
                                        make_shape({3, 1, 8}),
                                        make_shape({1, 1, 1}),
                                        make_shape({6, 40, 1}),
                                        make_shape({1, 5, 7}),
                                        make_shape({3, 2, 2100}),
                                        make_shape({300, 4, 50})};
  std::vector<cube> inputs;
  std::uint32_t seed = 1000;
  for (const loom::shape& s : shapes)
    inputs.push_back(signed_tensor<float, extents<dyn, dyn, dyn>>(s, seed++));
  return inputs;
}

// The CPU and GPU forms of one model, compiled once per test case.
template <class Model, class T = float>
struct compiled {
  decltype(loom::compile(Model{}, loom::input<T, extents<dyn, dyn, dyn>>{})) cpu =
      loom::compile(Model{}, loom::input<T, extents<dyn, dyn, dyn>>{});
  decltype(loom::cuda::to_cuda(cpu)) gpu = loom::cuda::to_cuda(cpu);

  template <class In>
  void check(const In& x, precision p, const std::string& what, bool skip_prod = false) const {
    run_and_check(cpu, gpu, Model::entries(), x, Model::mask(), p, what, skip_prod);
  }
};

template <class Model>
void sweep_one(const std::vector<cube>& inputs, const std::string& what, precision p) {
  const compiled<Model> m;
  for (const cube& x : inputs) m.check(x, p, what);
}

template <class... Models>
void sweep(const std::vector<cube>& inputs, const std::string& what, precision p = {}) {
  (sweep_one<Models>(inputs, what, p), ...);
}

}  // namespace

TEST_CASE("sum, mean, max, min, prod, argmax over trailing axes {2} of rank-3 inputs",
          "[reduce][sweep]") {
  sweep<rows_a, rows_b>(sweep_inputs(), "axes {2}");
  sync_ok();
}

TEST_CASE("sum, mean, max, min, prod, argmax over the non-trailing axis {0}",
          "[reduce][sweep][strided]") {
  sweep<cols_a, cols_b>(sweep_inputs(), "axes {0}");
  sync_ok();
}

TEST_CASE("sum, max, mean over trailing axes {1, 2}", "[reduce][sweep]") {
  sweep<inner_model>(sweep_inputs(), "axes {1, 2}");
  sync_ok();
}

TEST_CASE("sum, mean, argmax over all axes", "[reduce][sweep]") {
  sweep<all_model>(sweep_inputs(), "all axes");
  sync_ok();
}

TEST_CASE("argmax over the middle axis {1}, alone in its pass", "[reduce][sweep][strided]") {
  sweep<middle_model>(sweep_inputs(), "axes {1}");
  sync_ok();
}

TEST_CASE("NaN propagates through every kind - argmax takes the first NaN", "[reduce][nan]") {
  cube x = signed_tensor<float, extents<dyn, dyn, dyn>>(make_shape({4, 5, 130}), 2000);
  x(1, 2, 40) = fnan;   // row (1, 2); column (., 2, 40) for axes {0}
  x(2, 3, 129) = fnan;  // row (2, 3) holds two NaNs: argmax is the first, 7
  x(2, 3, 7) = fnan;
  x(3, 0, 0) = fnan;  // the first element of a row, and of a pack
  cube y = signed_tensor<float, extents<dyn, dyn, dyn>>(make_shape({2, 3, 3000}), 2001);
  y(0, 1, 2999) = fnan;  // long rows: a block per row
  y(1, 2, 5) = fnan;
  y(1, 2, 2500) = fnan;
  const std::vector<cube> inputs{x, y};
  sweep<rows_a, rows_b>(inputs, "axes {2} with NaN");
  sweep<cols_a, cols_b>(inputs, "axes {0} with NaN");
  sweep<all_model>(inputs, "all axes with NaN");
  sync_ok();
}

TEST_CASE("argmax ties give the first index, across threads, warps and blocks", "[reduce][ties]") {
  // Integer values in [0, 3]: every row has many equal maxima; the sums are exact.
  std::vector<cube> inputs;
  std::uint32_t seed = 2100;
  for (const loom::shape& s : {make_shape({5, 6, 130}), make_shape({2, 3, 5000})}) {
    cube x(s);
    fill_int(x, seed++, 0, 3);
    inputs.push_back(x);
  }
  precision exact;
  exact.exact_sums = true;
  sweep<rows_a, rows_b>(inputs, "axes {2} with ties", exact);
  sweep<cols_a, cols_b>(inputs, "axes {0} with ties", exact);
  sweep<all_model>(inputs, "all axes with ties", exact);
  sync_ok();
}

TEST_CASE("rows longer than 2048 take a block per row - many short rows a grid-stride loop",
          "[reduce][rows]") {
  const compiled<rows_a> a;
  const compiled<rows_b> b;
  // [rows, 1, n]: the rows models reduce the last axis.
  const std::vector<loom::shape> shapes{make_shape({3, 1, 5000}),
                                        make_shape({3, 1, 5001}),
                                        make_shape({300, 1, 3000}),
                                        make_shape({7, 1, 2049}),
                                        make_shape({40000, 1, 8}),
                                        make_shape({1000, 1, 1}),
                                        make_shape({2, 1, 2048})};
  std::uint32_t seed = 3000;
  precision exact;
  exact.exact_sums = true;
  for (const loom::shape& s : shapes) {
    // Integer values in [-3, 3]: sums exact in any order, argmax full of ties; the products
    // of such rows are 0 or overflow, unchecked here.
    cube ints(s);
    fill_int(ints, seed++, -3, 3);
    a.check(ints, exact, "integer-valued");
    b.check(ints, exact, "integer-valued", /*skip_prod=*/true);
    // Real values near +-1: every kind, products included.
    const cube real = signed_tensor<float, extents<dyn, dyn, dyn>>(s, seed++);
    a.check(real, {}, "real-valued");
    b.check(real, {}, "real-valued");
  }
  sync_ok();
}

TEST_CASE("a full reduction of about a million elements", "[reduce][full]") {
  const compiled<all_model> m;
  std::uint32_t seed = 4000;
  for (const loom::shape& s : {make_shape({1, 1, std::size_t(1) << 20}),
                               make_shape({1, 1, 1000003}),
                               make_shape({1000, 1000, 1})}) {
    const std::size_t n = s.size();
    // Integers in [-8, 7] (partial sums stay below 2^24: exact in any order), with the
    // maximum 8 twice, far apart: argmax must give the first.
    cube ints(s);
    fill_int(ints, seed++, -8, 7);
    ints.data()[700001] = 8;
    ints.data()[900000] = 8;
    precision exact;
    exact.exact_sums = true;
    m.check(ints, exact, "integer-valued n=" + std::to_string(n));
    cube real(s);
    fill_normal(real, seed++, 0.5, 1.0);
    m.check(real, {}, "normal n=" + std::to_string(n));
  }
  sync_ok();
}

TEST_CASE("f64 and i32 reductions", "[reduce][dtype]") {
  const std::vector<loom::shape> shapes{
      make_shape({3, 4, 130}), make_shape({2, 5, 1}), make_shape({2, 2, 3000})};
  SECTION("f64, with NaN and inf") {
    const compiled<f64_model, double> m;
    precision p;
    p.u = u_d;
    std::uint32_t seed = 5000;
    for (const loom::shape& s : shapes) {
      auto x = signed_tensor<double, extents<dyn, dyn, dyn>>(s, seed++);
      if (s.dims[2] == 130) {
        x(1, 2, 40) = dnan;
        x(2, 3, 129) = std::numeric_limits<double>::infinity();
        x(0, 0, 3) = -std::numeric_limits<double>::infinity();
      }
      m.check(x, p, "f64");
    }
  }
  SECTION("i32: sums and products wrap, mean is f32") {
    const compiled<i32_model, std::int32_t> m;
    precision p;
    p.i32 = true;
    std::uint32_t seed = 5100;
    for (const loom::shape& s : shapes) {
      // Small values: the f32 sums behind the mean are exact. Products wrap.
      m.check(
          int_tensor<std::int32_t, extents<dyn, dyn, dyn>>(s, seed++, -1000, 1000), p, "i32 small");
      // Any value: sums wrap too (the mean is then unchecked: its f32 sum rounds).
      const auto any = int_tensor<std::int32_t, extents<dyn, dyn, dyn>>(
          s,
          seed++,
          std::numeric_limits<std::int32_t>::min(),
          std::numeric_limits<std::int32_t>::max());
      const auto on_cpu = m.cpu(any);
      const auto dany = upload(any);
      const std::vector<values> got = all_of(run_poisoned(m.gpu, on_cpu, nullptr, dany));
      const std::vector<double> xs = doubles_of(any);
      for (std::size_t k : {std::size_t(0), std::size_t(2)}) {
        const entry en = i32_model::entries()[k];
        const expected_reduction e =
            reduction_reference(en.kind, xs.data(), any.shape(), i32_model::mask(), false, true);
        CT_CHECK_REPORT(compare(
            got[k],
            reference{e.shape, e.value, {}},
            {},
            std::string("i32 any: ") + name_of(en.kind) + " of " + any.shape().to_string()));
      }
    }
  }
  sync_ok();
}

TEST_CASE("a reduction fused with its producer and consumer - column sums through a transpose",
          "[reduce][fusion]") {
  const auto model = [](auto x) {
    return std::make_tuple(x / loom::sum(loom::abs(x), loom::axes<1>, loom::keepdims),
                           loom::sum(loom::transpose(x), loom::axes<1>));
  };
  auto cpu = loom::compile(model, mat_input{});
  auto gpu = loom::cuda::to_cuda(cpu);
  std::uint32_t seed = 6000;
  for (const loom::shape& s :
       {make_shape({3, 5000}), make_shape({100, 130}), make_shape({9, 1024}), make_shape({4, 1})}) {
    const mat x = signed_tensor<float, extents<dyn, dyn>>(s, seed++);
    const std::size_t rows = s.dims[0], cols = s.dims[1];
    const auto on_cpu = cpu(x);
    const auto dx = upload(x);
    std::vector<double> row_abs(rows, 0.0), col_sum(cols, 0.0), col_abs(cols, 0.0);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < cols; ++c) {
        row_abs[r] += std::abs(double(x(r, c)));
        col_sum[c] += x(r, c);
        col_abs[c] += std::abs(double(x(r, c)));
      }
    // x / s: the relative error of s (a sum of positive terms) and one division.
    const double rel = sum_rel(cols, u_f) + 2 * u_f;
    const reference normalised =
        reference_of(s, [&](std::size_t i) { return double(x.data()[i]) / row_abs[i / cols]; });
    const reference columns{make_shape({cols}), col_sum, col_abs};
    for (int path = 0; path < 2; ++path) {
      const auto got =
          path == 0 ? run_poisoned(gpu, on_cpu, nullptr, dx) : call_fresh(gpu, nullptr, dx);
      const std::string what = s.to_string() + (path == 0 ? " run" : " operator()");
      CT_CHECK_REPORT(compare(std::get<0>(got), normalised, {rel, 0}, what + " x / sum|x|"));
      CT_CHECK_REPORT(
          compare(std::get<0>(got), std::get<0>(on_cpu), {2 * rel, 0}, what + " vs cpu"));
      CT_CHECK_REPORT(compare(std::get<1>(got),
                              columns,
                              {sum_rel(rows, u_f), 0},
                              what + " sum(transpose(x), axes<1>)"));
    }
  }
  sync_ok();
}
