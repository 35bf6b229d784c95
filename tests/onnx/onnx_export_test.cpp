// ONNX export (loom/onnx.hpp). Two halves:
// - what the exported ModelProto says (names, dtypes, dynamic extents, initializers, the doc
//   string), checked here;
// - that onnxruntime computes what loom computes: each "case" below exports a model and writes
//   its inputs and loom's outputs, at two sizes of its dynamic extents, under the directory
//   LOOM_ONNX_CASES; run_onnxruntime.py (the ctest test onnx_runtime, which needs these tests
//   to have run) checks every model with onnx.checker (full_check) and runs it in onnxruntime.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <loom/loom.hpp>
#include <loom/npy.hpp>
#include <loom/onnx.hpp>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "../common/random_fill.hpp"
#include "../typed/models.hpp"

namespace {

using loom::dyn;
using loom::extents;
namespace fs = std::filesystem;

fs::path cases_dir() {
  const char* dir = std::getenv("LOOM_ONNX_CASES");
  return dir ? fs::path(dir) : fs::path("onnx_cases");
}

template <class R>
void write_outputs(const fs::path& dir, std::size_t set, const R& result) {
  if constexpr (requires { std::tuple_size<R>::value; }) {
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      (loom::save_npy(dir / (std::to_string(set) + "_output" + std::to_string(K) + ".npy"),
                      std::get<K>(result)),
       ...);
    }
    (std::make_index_sequence<std::tuple_size_v<R>>{});
  } else {
    loom::save_npy(dir / (std::to_string(set) + "_output0.npy"), result);
  }
}

// Exports `m` as case `name` and writes, for each input set (a std::tuple of tensors), the
// inputs and loom's outputs. `rel` and `abs`: how far onnxruntime may be from loom (exact for
// integer and bool outputs).
template <class Model, class... Sets>
void write_case(const std::string& name,
                const Model& m,
                double rel,
                double abs,
                const loom::onnx::options& o,
                const Sets&... sets) {
  const fs::path dir = cases_dir() / name;
  fs::create_directories(dir);
  loom::onnx::save(m, (dir / "model.onnx").string(), o);
  std::ofstream(dir / "tolerance.txt") << rel << " " << abs << "\n";
  std::size_t set = 0;
  (
      [&] {
        std::apply(
            [&](const auto&... in) {
              std::size_t k = 0;
              (loom::save_npy(dir / (std::to_string(set) + "_input" + std::to_string(k++) + ".npy"),
                              in),
               ...);
              write_outputs(dir, set, m(in...));
            },
            sets);
        ++set;
      }(),
      ...);
}

}  // namespace

// The typed cases' models (tests/typed/models.hpp), each for the dtypes its typed case runs,
// on random inputs of two sizes. All extents dynamic, as there.
template <class T>
using vec = loom::tensor<T, extents<dyn>>;
template <class T>
using mat = loom::tensor<T, extents<dyn, dyn>>;
template <class T>
using cube = loom::tensor<T, extents<dyn, dyn, dyn>>;

// A tolerance by dtype: f32's, f64's (also given for i32, which compares exactly), and f16's,
// whose default 0 is for the cases that run no f16 model.
template <class T>
double f32_or(double f32, double f64, double f16 = 0) {
  return std::is_same_v<T, float> ? f32 : std::is_same_v<T, loom::f16> ? f16 : f64;
}
template <class T>
std::string dtype_suffix() {
  return "_" + std::string(loom::dtype_name<T>());
}

// Values of T in [lo, hi]: integers for i32.
template <class Tensor>
Tensor filled(loom::shape s, std::uint32_t seed, double lo, double hi) {
  Tensor t(s);
  if constexpr (std::is_same_v<typename Tensor::value_type, std::int32_t>)
    loom_test::fill_int(t, seed, int(lo), int(hi));
  else
    loom_test::fill_uniform(t, seed, lo, hi);
  return t;
}
loom::shape shape_of(std::initializer_list<std::size_t> dims) {
  loom::shape s;
  s.rank = dims.size();
  std::size_t d = 0;
  for (std::size_t e : dims) s.dims[d++] = e;
  return s;
}

// `model` compiled for the tensors of `set`.
template <class Model, class Set>
auto compile_for(Model model, const Set& set) {
  return std::apply(
      [&](const auto&... in) {
        return loom::compile(
            model,
            loom::input<typename std::remove_cvref_t<decltype(in)>::value_type,
                        typename std::remove_cvref_t<decltype(in)>::extents_type>{}...);
      },
      set);
}

// Compiles `model` for the tensors of the first set and writes the case.
template <class Model, class Set, class... Sets>
void model_case(const std::string& name,
                Model model,
                double rel,
                double abs,
                const Set& first,
                const Sets&... more) {
  write_case(name, compile_for(model, first), rel, abs, {}, first, more...);
}

TEMPLATE_TEST_CASE(
    "onnx case: element-wise ops", "[onnx]", float, double, std::int32_t, loom::f16) {
  using T = TestType;
  // f16: onnxruntime's kernels compute in f32 and round each op's result, as loom does; where
  // it decomposes an op (gelu through erf) its roundings differ by an ulp (2^-10 relative).
  const double rel = f32_or<T>(2e-6, 1e-12, 2e-3), abs = f32_or<T>(1e-6, 1e-12, 1e-4);
  auto unary = [](std::size_t n, std::uint32_t seed) {
    return std::make_tuple(filled<vec<T>>(shape_of({n}), seed, -9, 9));
  };
  model_case("arithmetic_unary" + dtype_suffix<T>(),
             loom_typed::arithmetic_unary_model,
             rel,
             abs,
             unary(7, 1),
             unary(1003, 2));
  auto binary = [](std::size_t m, std::size_t n, std::uint32_t seed) {
    return std::make_tuple(filled<mat<T>>(shape_of({m, n}), seed, -9, 9),
                           filled<vec<T>>(shape_of({n}), seed + 1, -2, 2),
                           filled<mat<T>>(shape_of({m, 1}), seed + 2, -9, 9),
                           filled<mat<T>>(shape_of({m, n}), seed + 3, 1, 9),   // a divisor
                           filled<mat<T>>(shape_of({m, 1}), seed + 4, 1, 3));  // pow's base
  };
  model_case("binary" + dtype_suffix<T>(),
             loom_typed::binary_model,
             rel,
             abs,
             binary(3, 5, 3),
             binary(17, 33, 4));
  auto compare = [](std::size_t m, std::size_t n, std::uint32_t seed) {
    return std::make_tuple(filled<mat<T>>(shape_of({m, n}), seed, -3, 3),
                           filled<mat<T>>(shape_of({m, n}), seed + 1, -3, 3));
  };
  model_case("comparison" + dtype_suffix<T>(),
             loom_typed::comparison_model,
             0,
             0,
             compare(2, 9, 5),
             compare(12, 40, 6));
  auto where = [](std::size_t m, std::size_t n, std::uint32_t seed) {
    mat<bool> cond(shape_of({m, n}));
    loom_test::fill_bool(cond, seed);
    return std::make_tuple(std::move(cond),
                           filled<mat<T>>(shape_of({m, n}), seed + 1, -9, 9),
                           filled<mat<T>>(shape_of({m, n}), seed + 2, -9, 9));
  };
  model_case(
      "where" + dtype_suffix<T>(), loom_typed::where_model, 0, 0, where(4, 4, 7), where(9, 31, 8));
  auto cast = [](std::size_t n, std::uint32_t seed) {
    vec<bool> c(shape_of({n}));
    loom_test::fill_bool(c, seed);
    return std::make_tuple(filled<vec<T>>(shape_of({n}), seed + 1, -100, 100),
                           filled<vec<std::int32_t>>(shape_of({n}), seed + 2, -100, 100),
                           std::move(c));
  };
  model_case(
      "cast" + dtype_suffix<T>(), loom_typed::cast_model, rel, abs, cast(5, 9), cast(300, 10));
  if constexpr (!std::is_same_v<T, std::int32_t>) {
    auto floating = [](std::size_t n, std::uint32_t seed) {
      return std::make_tuple(filled<vec<T>>(shape_of({n}), seed, -3, 3),
                             filled<vec<T>>(shape_of({n}), seed + 1, 0.01, 50));
    };
    model_case("floating_unary" + dtype_suffix<T>(),
               loom_typed::floating_unary_model,
               rel,
               abs,
               floating(3, 11),
               floating(1003, 12));
    // onnxruntime implements Erf in f32 only, so it cannot run the f64 model above (whose
    // last result is gelu): the same model without gelu runs everywhere.
    const auto but_gelu = [](auto x, auto p) {
      const auto all = loom_typed::floating_unary_model(x, p);
      static_assert(std::tuple_size_v<std::remove_const_t<decltype(all)>> == 9);
      return [&]<std::size_t... K>(std::index_sequence<K...>) {
        return std::make_tuple(std::get<K>(all)...);
      }
      (std::make_index_sequence<8>{});
    };
    model_case("floating_unary_but_gelu" + dtype_suffix<T>(),
               but_gelu,
               rel,
               abs,
               floating(3, 13),
               floating(1003, 14));
  }
}

// A reduction's input: near 1 for floats, so that products stay in range; -1, 0 and 1 for
// i32, with ties for argmax, which both take the first of.
template <class T>
std::tuple<cube<T>> reduction_set(std::size_t a, std::size_t b, std::size_t c, std::uint32_t seed) {
  const double lo = std::is_same_v<T, std::int32_t> ? -1 : 0.5,
               hi = std::is_same_v<T, std::int32_t> ? 1 : 1.5;
  return std::make_tuple(filled<cube<T>>(shape_of({a, b, c}), seed, lo, hi));
}

TEMPLATE_TEST_CASE("onnx case: reductions", "[onnx]", float, double, std::int32_t, loom::f16) {
  using T = TestType;
  const auto set = reduction_set<T>;
  const double rel = f32_or<T>(1e-5, 1e-12, 2e-3), abs = f32_or<T>(1e-5, 1e-12, 1e-3);
  model_case("reduce_last" + dtype_suffix<T>(),
             loom_typed::reduce_last_model,
             rel,
             abs,
             set(3, 5, 7, 21),
             set(4, 3, 130, 22));
  model_case("reduce_leading_kept" + dtype_suffix<T>(),
             loom_typed::reduce_leading_kept_model,
             rel,
             abs,
             set(3, 5, 7, 23),
             set(4, 3, 130, 24));
  model_case("reduce_all" + dtype_suffix<T>(),
             loom_typed::reduce_all_model,
             rel,
             abs,
             set(3, 5, 7, 25),
             set(2, 3, 9, 26));
  model_case("reduce_two_kept" + dtype_suffix<T>(),
             loom_typed::reduce_two_kept_model,
             rel,
             abs,
             set(3, 5, 7, 27),
             set(4, 3, 13, 28));
}

TEST_CASE("onnx case: views", "[onnx]") {
  auto set = [](std::size_t m, std::size_t n, std::size_t a, std::size_t c, std::uint32_t seed) {
    return std::make_tuple(
        filled<mat<float>>(shape_of({m, n}), seed, -1, 1),
        filled<loom::tensor<float, extents<dyn, 5, dyn>>>(shape_of({a, 5, c}), seed + 1, -1, 1),
        filled<mat<float>>(shape_of({m, 1}), seed + 2, -1, 1));
  };
  model_case("views", loom_typed::view_model, 0, 0, set(6, 11, 3, 2, 31), set(9, 25, 2, 13, 32));
}

TEMPLATE_TEST_CASE("onnx case: matmul and composites", "[onnx]", float, double, loom::f16) {
  using T = TestType;
  // f16: an ulp or two of the result (its roundings, and the order of the matmul's f32 sums),
  // and 1e-3 where those sums cancel.
  const double rel = f32_or<T>(1e-4, 1e-10, 4e-3), abs = f32_or<T>(1e-5, 1e-12, 1e-3);
  auto product = [](std::size_t m, std::size_t k, std::size_t n, std::uint32_t seed) {
    return std::make_tuple(filled<mat<T>>(shape_of({m, k}), seed, -1, 1),
                           filled<mat<T>>(shape_of({k, n}), seed + 1, -1, 1));
  };
  model_case("matmul" + dtype_suffix<T>(),
             loom_typed::matmul_model,
             rel,
             abs,
             product(3, 4, 5, 41),
             product(20, 33, 17, 42));
  auto batched =
      [](std::size_t b, std::size_t m, std::size_t k, std::size_t n, std::uint32_t seed) {
        return std::make_tuple(filled<cube<T>>(shape_of({b, m, k}), seed, -1, 1),
                               filled<cube<T>>(shape_of({b, k, n}), seed + 1, -1, 1),
                               filled<mat<T>>(shape_of({k, n}), seed + 2, -1, 1));
      };
  model_case("batched_matmul" + dtype_suffix<T>(),
             loom_typed::batched_matmul_model,
             rel,
             abs,
             batched(2, 3, 4, 5, 43),
             batched(3, 9, 16, 7, 44));
  auto epilogue = [](std::size_t m, std::size_t k, std::size_t n, std::uint32_t seed) {
    return std::make_tuple(filled<mat<T>>(shape_of({m, k}), seed, -1, 1),
                           filled<mat<T>>(shape_of({n, k}), seed + 1, -1, 1),
                           filled<vec<T>>(shape_of({n}), seed + 2, -1, 1));
  };
  model_case("matmul_epilogue" + dtype_suffix<T>(),
             loom_typed::matmul_epilogue_model,
             rel,
             abs,
             epilogue(3, 4, 5, 45),
             epilogue(21, 30, 12, 46));
  auto rows = [](std::size_t r, std::size_t c, std::uint32_t seed) {
    return std::make_tuple(filled<mat<T>>(shape_of({r, c}), seed, -3, 3),
                           filled<vec<T>>(shape_of({c}), seed + 1, 0.5, 1.5),
                           filled<vec<T>>(shape_of({c}), seed + 2, -1, 1));
  };
  model_case("rows" + dtype_suffix<T>(),
             loom_typed::rows_model,
             rel,
             abs,
             rows(7, 33, 47),
             rows(3, 1003, 48));
  model_case("layer_norm" + dtype_suffix<T>(),
             loom_typed::layer_norm_model,
             rel,
             abs,
             rows(2, 8, 49),
             rows(5, 300, 50));
  auto columns = [](std::size_t r, std::size_t c, std::uint32_t seed) {
    return std::make_tuple(filled<mat<T>>(shape_of({r, c}), seed, -3, 3));
  };
  model_case("columns" + dtype_suffix<T>(),
             loom_typed::columns_model,
             rel,
             abs,
             columns(7, 33, 51),
             columns(40, 3, 52));
  auto losses = [](std::size_t r, std::size_t c, std::uint32_t seed) {
    auto probs = filled<mat<T>>(shape_of({r, c}), seed + 2, 0.1, 1);
    for (std::size_t i = 0; i < r; ++i) {  // each row a distribution over the classes
      T total = 0;
      for (std::size_t j = 0; j < c; ++j) total += probs(i, j);
      for (std::size_t j = 0; j < c; ++j) probs(i, j) /= total;
    }
    return std::make_tuple(filled<mat<T>>(shape_of({r, c}), seed, -2, 2),
                           filled<mat<T>>(shape_of({r, c}), seed + 1, -2, 2),
                           std::move(probs));
  };
  model_case("losses" + dtype_suffix<T>(),
             loom_typed::loss_model,
             rel,
             abs,
             losses(4, 10, 53),
             losses(16, 100, 54));
}

TEST_CASE("onnx case: a run-time scalar as a constant, and as an input", "[onnx]") {
  const float alpha = 0.75f;
  const auto model = [alpha](auto x) {
    return loom::tanh(x * alpha) + alpha;
  };
  const auto m = loom::compile(model, loom::input<float, extents<dyn>>{});
  auto set = [](std::size_t n, std::uint32_t seed) {
    return std::make_tuple(filled<vec<float>>(shape_of({n}), seed, -3, 3));
  };
  write_case("scalar_constant", m, 1e-6, 1e-6, {}, set(9, 110), set(100, 120));
  loom::onnx::options as_input;
  as_input.scalars_as_inputs = true;
  write_case("scalar_input", m, 1e-6, 1e-6, as_input, set(9, 110));
  // The scalars' value, for onnxruntime to feed: graph inputs scalarN, N the scalar nodes (a
  // captured float traced twice is two of them).
  const auto proto = loom::onnx::to_model_proto(m, as_input);
  REQUIRE(proto.graph().input_size() == 3);
  loom::tensor<float, extents<>> value;
  value.data()[0] = alpha;
  for (int k = 1; k < proto.graph().input_size(); ++k) {
    CHECK(proto.graph().input(k).name().rfind("scalar", 0) == 0);
    loom::save_npy(cases_dir() / "scalar_input" / ("0_" + proto.graph().input(k).name() + ".npy"),
                   value);
  }
}

// Custom ops: each F names its ONNX op and domain, and custom_ops.py gives onnxruntime the
// same functions (through onnxruntime-extensions).
struct clipped_exp {
  static constexpr std::string_view onnx_op = "ClippedExp";
  static constexpr std::string_view onnx_domain = "test.loom";
  float operator()(float x) const { return std::exp(std::fmin(x, 2.f)); }
};
struct running_sum {
  using granularity = loom::whole_tensor;
  static constexpr std::string_view onnx_op = "RunningSum";
  static constexpr std::string_view onnx_domain = "test.loom";
  void operator()(loom::tensor_view<const float, extents<dyn>> x,
                  loom::tensor_view<float, extents<dyn>> out) const {
    float total = 0;
    for (std::size_t k = 0; k < x.size(); ++k) out.data()[k] = total += x.data()[k];
  }
};

TEST_CASE("onnx case: allow_in_graph callables as custom ops", "[onnx]") {
  const auto model = [](auto x) {
    return loom::allow_in_graph<running_sum>{}(loom::allow_in_graph<clipped_exp>{}(x)*0.5f) + 1.f;
  };
  const auto m = loom::compile(model, loom::input<float, extents<dyn>>{});
  const auto proto = loom::onnx::to_model_proto(m);
  const auto& g = proto.graph();
  int custom = 0;
  for (const auto& n : g.node())
    if (n.domain() == "test.loom") {
      ++custom;
      CHECK((n.op_type() == "ClippedExp" || n.op_type() == "RunningSum"));
      bool typed = false;  // the custom op's result has its type written out
      for (const auto& v : g.value_info())
        typed = typed || (v.name() == n.output(0) &&
                          v.type().tensor_type().elem_type() == onnx::TensorProto::FLOAT);
      CHECK(typed);
    }
  CHECK(custom == 2);
  int imports = 0;
  for (const auto& o : proto.opset_import())
    imports += o.domain() == "test.loom" && o.version() == 1;
  CHECK(imports == 1);
  auto set = [](std::size_t n, std::uint32_t seed) {
    return std::make_tuple(filled<vec<float>>(shape_of({n}), seed, -3, 3));
  };
  write_case("custom_ops", m, 1e-5, 1e-5, {}, set(10, 130), set(1000, 140));
}

// A custom op in ONNX's own domain (""): an op of the model's opset, imported once.
struct softplus {
  static constexpr std::string_view onnx_op = "Softplus";
  static constexpr std::string_view onnx_domain = "";
  float operator()(float x) const { return std::log1p(std::exp(x)); }
};

TEST_CASE("onnx case: a custom op of ONNX's own domain", "[onnx]") {
  const auto m = loom::compile([](auto x) { return loom::allow_in_graph<softplus>{}(x)*2.f; },
                               loom::input<float, extents<dyn>>{});
  const auto proto = loom::onnx::to_model_proto(m);
  CHECK(proto.opset_import_size() == 1);
  CHECK(proto.graph().node(0).op_type() == "Softplus");
  auto set = [](std::size_t n, std::uint32_t seed) {
    return std::make_tuple(filled<vec<float>>(shape_of({n}), seed, -5, 5));
  };
  write_case("standard_domain_op", m, 1e-5, 1e-6, {}, set(10, 180), set(300, 190));
}

TEST_CASE("onnx case: cross_entropy on class indices, through GatherElements", "[onnx]") {
  const auto m = loom::compile([](auto l, auto c) { return loom::cross_entropy(l, c); },
                               loom::input<float, extents<dyn, dyn>>{},
                               loom::input<std::int32_t, extents<dyn>>{});
  const auto proto = loom::onnx::to_model_proto(m);
  bool gathers = false;
  for (const auto& n : proto.graph().node()) gathers = gathers || n.op_type() == "GatherElements";
  CHECK(gathers);
  auto set = [](std::size_t n, std::size_t k, std::uint32_t seed) {  // negative indices too
    return std::make_tuple(
        filled<mat<float>>(shape_of({n, k}), seed, -3, 3),
        filled<vec<std::int32_t>>(shape_of({n}), seed + 1, -double(k), double(k) - 1));
  };
  write_case("cross_entropy_classes", m, 1e-5, 1e-6, {}, set(8, 5, 200), set(70, 13, 210));
}

TEST_CASE("onnx export: names, dtypes and extents of inputs and outputs", "[onnx]") {
  struct tokens;
  const auto model = [](auto x, auto mask) {
    return std::make_tuple(loom::where(mask, x, 0.f), loom::sum(x));
  };
  const auto m =
      loom::compile(model,
                    loom::input<float, extents<dyn, 4>, loom::dims<tokens, loom::unnamed>>{},
                    loom::input<bool, extents<dyn, 4>, loom::dims<tokens, loom::unnamed>>{});
  loom::onnx::options o;
  o.input_names = {"x", "mask"};
  o.output_names = {"masked"};  // the second keeps its default name
  const auto proto = loom::onnx::to_model_proto(m, o);
  CHECK(proto.opset_import(0).version() == 17);
  CHECK(proto.producer_name() == "loom");
  const auto& g = proto.graph();
  REQUIRE(g.input_size() == 2);
  CHECK(g.input(0).name() == "x");
  CHECK(g.input(1).name() == "mask");
  CHECK(g.input(0).type().tensor_type().elem_type() == onnx::TensorProto::FLOAT);
  CHECK(g.input(1).type().tensor_type().elem_type() == onnx::TensorProto::BOOL);
  // The named extent is one symbol on both inputs; the static one a value.
  const auto& dims_x = g.input(0).type().tensor_type().shape();
  REQUIRE(dims_x.dim_size() == 2);
  CHECK(dims_x.dim(0).dim_param() == g.input(1).type().tensor_type().shape().dim(0).dim_param());
  CHECK(dims_x.dim(0).dim_param().find("tokens") != std::string::npos);
  CHECK(dims_x.dim(1).dim_value() == 4);
  REQUIRE(g.output_size() == 2);
  CHECK(g.output(0).name() == "masked");
  CHECK(g.output(1).name() == "output1");
  CHECK(g.output(1).type().tensor_type().shape().dim_size() == 0);
  // The output's dynamic extent is the inputs' (loom knows it): the same symbol.
  const auto& dims_out = g.output(0).type().tensor_type().shape();
  REQUIRE(dims_out.dim_size() == 2);
  CHECK(dims_out.dim(0).dim_param() == dims_x.dim(0).dim_param());
  CHECK(dims_out.dim(1).dim_value() == 4);
}

struct record_hook {
  void operator()(loom::tensor_view<const float, extents<dyn>>) const {}
};

TEST_CASE("onnx export: hooks and fusion barriers export as nothing, and say so", "[onnx]") {
  const auto model = [](auto x) {
    return loom::fusion_barrier(loom::hook(x * 2.f, record_hook{})) + 1.f;
  };
  const auto m = loom::compile(model, loom::input<float, extents<dyn>>{});
  const auto plain = loom::onnx::to_model_proto(m);
  CHECK(plain.doc_string().find("exported as nothing: hook %") != std::string::npos);
  CHECK(plain.doc_string().find("fusion_barrier %") != std::string::npos);
  int identities = 0;
  for (const auto& n : plain.graph().node()) identities += n.op_type() == "Identity";
  CHECK(identities == 1);  // the output's
  loom::onnx::options with_identity;
  with_identity.hooks_as_identity = true;
  const auto identity_hooks = loom::onnx::to_model_proto(m, with_identity);
  int with = 0;
  for (const auto& n : identity_hooks.graph().node()) with += n.op_type() == "Identity";
  CHECK(with == 2);
  CHECK(identity_hooks.doc_string().find("hook %") == std::string::npos);
  CHECK(identity_hooks.doc_string().find("fusion_barrier %") != std::string::npos);
}

TEST_CASE("onnx export: an opset other than 17, 18 and 20 is refused", "[onnx][errors]") {
  const auto m = loom::compile([](auto x) { return x + 1.f; }, loom::input<float, extents<dyn>>{});
  loom::onnx::options o;
  o.opset = 19;
  CHECK_THROWS_MATCHES(
      loom::onnx::to_model_proto(m, o),
      loom::export_error,
      Catch::Message(
          "loom: onnx export: opset 19 is not supported; loom writes opsets 17, 18 and 20"));
  CHECK_THROWS_AS(loom::onnx::save(m, "/nonexistent-dir/model.onnx"), loom::export_error);
}

// An op descriptor of the user's own whose only ONNX spelling is an op of opset 20.
struct gelu_from_20 : loom::ops::floating_unary {
  static constexpr std::string_view name = "gelu_from_20";
  static constexpr int cost = 20;
  static constexpr loom::onnx_native_op onnx_native{20, "Gelu"};
  template <class T>
  static T scalar(T x) {
    return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440)));
  }
};

TEST_CASE("onnx export: an op with no spelling at the chosen opset is refused", "[onnx][errors]") {
  const auto m = loom::compile([](auto x) { return loom::detail::dispatch(gelu_from_20{}, x); },
                               loom::input<float, extents<dyn>>{});
  CHECK_THROWS_MATCHES(loom::onnx::to_model_proto(m),
                       loom::export_error,
                       Catch::Message("loom: onnx export: the op gelu_from_20 has no ONNX "
                                      "spelling at opset 17; ONNX has it from opset 20"));
  loom::onnx::options at20;
  at20.opset = 20;
  CHECK(loom::onnx::to_model_proto(m, at20).graph().node(0).op_type() == "Gelu");
}

TEST_CASE("onnx export: what ONNX's checks reject is loom::export_error, naming the node",
          "[onnx][errors]") {
  // A model loom wrote, then broken by hand: its Relu renamed to an op ONNX does not have.
  const auto m =
      loom::compile([](auto x) { return loom::relu(x); }, loom::input<float, extents<dyn>>{});
  onnx::ModelProto proto = loom::onnx::to_model_proto(m);
  REQUIRE(proto.graph().node(0).op_type() == "Relu");
  proto.mutable_graph()->mutable_node(0)->set_op_type("Rectify");
  std::string message;
  try {
    loom::onnx_export::validate(proto);
  } catch (const loom::export_error& e) {
    message = e.what();
  }
  CHECK(message.rfind("loom: onnx export: the model fails ONNX's checks: ", 0) == 0);
  CHECK(message.find("Rectify") != std::string::npos);
  CHECK(message.find(proto.graph().node(0).name()) != std::string::npos);
}

// The ONNX ops (op_type) of a model's graph, in order.
std::vector<std::string> op_types(const onnx::GraphProto& g) {
  std::vector<std::string> ops;
  for (const auto& n : g.node()) ops.push_back(n.op_type());
  return ops;
}
std::size_t count_of(const std::vector<std::string>& ops, std::string_view op) {
  return std::size_t(std::count(ops.begin(), ops.end(), op));
}

TEMPLATE_TEST_CASE("onnx case: opsets 18 and 20", "[onnx]", float, double, std::int32_t) {
  using T = TestType;
  const auto cubes = reduction_set<T>;
  const double rel = f32_or<T>(1e-5, 1e-12), abs = f32_or<T>(1e-5, 1e-12);
  for (int opset : {18, 20}) {
    loom::onnx::options o;
    o.opset = opset;
    const auto reduce = compile_for(loom_typed::reduce_two_kept_model, cubes(3, 5, 7, 61));
    write_case("reduce_two_kept_opset" + std::to_string(opset) + dtype_suffix<T>(),
               reduce,
               rel,
               abs,
               o,
               cubes(3, 5, 7, 61),
               cubes(4, 3, 13, 62));
    // From opset 18 on, every reduction takes its axes as an input.
    const auto proto = loom::onnx::to_model_proto(reduce, o);
    CHECK(proto.opset_import(0).version() == opset);
    CHECK(proto.ir_version() == (opset == 20 ? 9 : 8));
    for (const auto& n : proto.graph().node())
      if (n.op_type().rfind("Reduce", 0) == 0) CHECK(n.input_size() == 2);
    // Debian's ONNX 1.12 knows neither opset: the model says it is unchecked (the Python
    // checker in onnx_runtime checks it).
    CHECK(proto.doc_string().find("not checked") != std::string::npos);
  }
  if constexpr (!std::is_same_v<T, std::int32_t>) {
    loom::onnx::options at20;
    at20.opset = 20;
    auto floating = [](std::size_t n, std::uint32_t seed) {
      return std::make_tuple(filled<vec<T>>(shape_of({n}), seed, -3, 3),
                             filled<vec<T>>(shape_of({n}), seed + 1, 0.01, 50));
    };
    const auto unary = compile_for(loom_typed::floating_unary_model, floating(3, 63));
    write_case("floating_unary_opset20" + dtype_suffix<T>(),
               unary,
               f32_or<T>(2e-6, 1e-12),
               f32_or<T>(1e-6, 1e-12),
               at20,
               floating(3, 63),
               floating(1003, 64));
    // gelu: its erf formula at 17, ONNX's Gelu from 20.
    const auto ops17 = op_types(loom::onnx::to_model_proto(unary).graph());
    const auto ops20 = op_types(loom::onnx::to_model_proto(unary, at20).graph());
    CHECK((count_of(ops17, "Erf") == 1 && count_of(ops17, "Gelu") == 0));
    CHECK((count_of(ops20, "Erf") == 0 && count_of(ops20, "Gelu") == 1));
    auto rows = [](std::size_t r, std::size_t c, std::uint32_t seed) {
      return std::make_tuple(filled<mat<T>>(shape_of({r, c}), seed, -3, 3),
                             filled<vec<T>>(shape_of({c}), seed + 1, 0.5, 1.5),
                             filled<vec<T>>(shape_of({c}), seed + 2, -1, 1));
    };
    write_case("rows_opset20" + dtype_suffix<T>(),
               compile_for(loom_typed::rows_model, rows(7, 33, 65)),
               f32_or<T>(1e-4, 1e-10),
               f32_or<T>(1e-5, 1e-12),
               at20,
               rows(7, 33, 65),
               rows(3, 1003, 66));
  }
}

TEST_CASE("onnx case: reductions over no axes are their operand", "[onnx]") {
  const auto model = [](auto x) {
    const auto none = loom::axes<>;
    return std::make_tuple(loom::sum(x, none), loom::mean(x, none), loom::max(x, none));
  };
  const auto set = reduction_set<float>;
  const auto m = compile_for(model, set(2, 3, 4, 81));
  for (int opset : {17, 18}) {
    loom::onnx::options o;
    o.opset = opset;
    CHECK(op_types(loom::onnx::to_model_proto(m, o).graph()) ==
          std::vector<std::string>{"Identity", "Identity", "Identity"});
    write_case("reduce_no_axes_opset" + std::to_string(opset),
               m,
               0,
               0,
               o,
               set(2, 3, 4, 81),
               set(1, 5, 2, 82));
  }
}

TEST_CASE("onnx export: composites and bias adds as the ONNX ops that compute them", "[onnx]") {
  // LayerNormalization's scale and Gemm's bias must broadcast into the result one way: loom
  // knows they do where their dyn extents are named as the result's (loom::dims).
  struct rows;
  struct features;
  const auto named =
      loom::compile(loom_typed::rows_model,
                    loom::input<float, extents<dyn, dyn>, loom::dims<rows, features>>{},
                    loom::input<float, extents<dyn>, loom::dims<features>>{},
                    loom::input<float, extents<dyn>, loom::dims<features>>{});
  const auto ops = op_types(loom::onnx::to_model_proto(named).graph());
  CHECK(count_of(ops, "Softmax") == 1);
  CHECK(count_of(ops, "LogSoftmax") == 1);
  // layer_norm with gamma and beta; without them it stays its formula (one Sqrt).
  CHECK(count_of(ops, "LayerNormalization") == 1);
  CHECK(count_of(ops, "Sqrt") == 1);
  CHECK(count_of(ops, "Div") == 0);  // softmax's division is inside Softmax
  auto set = [](std::size_t r, std::size_t c, std::uint32_t seed) {
    return std::make_tuple(filled<mat<float>>(shape_of({r, c}), seed, -3, 3),
                           filled<vec<float>>(shape_of({c}), seed + 1, 0.5, 1.5),
                           filled<vec<float>>(shape_of({c}), seed + 2, -1, 1));
  };
  write_case("rows_named_f32", named, 1e-4, 1e-5, {}, set(7, 33, 83), set(3, 1003, 84));
  // Unnamed, gamma [?] might be [5] against rows of 1 at run time: no LayerNormalization.
  const auto unnamed = loom::compile(loom_typed::rows_model,
                                     loom::input<float, extents<dyn, dyn>>{},
                                     loom::input<float, extents<dyn>>{},
                                     loom::input<float, extents<dyn>>{});
  const auto plain_rows = op_types(loom::onnx::to_model_proto(unnamed).graph());
  CHECK(count_of(plain_rows, "Softmax") == 1);
  CHECK(count_of(plain_rows, "LayerNormalization") == 0);

  const auto epilogue =
      loom::compile(loom_typed::matmul_epilogue_model,
                    loom::input<double, extents<dyn, dyn>>{},
                    loom::input<double, extents<dyn, dyn>, loom::dims<features, loom::unnamed>>{},
                    loom::input<double, extents<dyn>, loom::dims<features>>{});
  const auto gemm = op_types(loom::onnx::to_model_proto(epilogue).graph());
  CHECK(gemm == std::vector<std::string>{"Transpose", "Gemm", "Identity"});
  const auto unnamed_epilogue = loom::compile(loom_typed::matmul_epilogue_model,
                                              loom::input<double, extents<dyn, dyn>>{},
                                              loom::input<double, extents<dyn, dyn>>{},
                                              loom::input<double, extents<dyn>>{});
  CHECK(op_types(loom::onnx::to_model_proto(unnamed_epilogue).graph()) ==
        std::vector<std::string>{"Transpose", "MatMul", "Add", "Identity"});

  // Over two axes ONNX has no Softmax; a product read twice, or batched, is no Gemm.
  const auto others = loom::compile(
      [](auto x, auto a, auto c) {
        const auto p = loom::matmul(a, a);
        return std::make_tuple(
            loom::softmax(x, loom::axes<0, 1>), p + c, p, loom::matmul(x, x) + c);
      },
      loom::input<float, extents<2, 3, 3>>{},
      loom::input<float, extents<3, 3>>{},
      loom::input<float, extents<3>>{});
  const auto plain = op_types(loom::onnx::to_model_proto(others).graph());
  CHECK(count_of(plain, "Softmax") == 0);
  CHECK(count_of(plain, "Gemm") == 0);
  CHECK(count_of(plain, "MatMul") == 2);
}

TEMPLATE_TEST_CASE("onnx case: an MLP classifier", "[onnx]", float, double) {
  using T = TestType;
  const auto mlp = [](auto x, auto w1, auto b1, auto w2, auto b2) {
    const auto h = loom::relu(loom::matmul(x, w1) + b1);
    return loom::softmax(loom::matmul(h, loom::transpose(w2)) + b2);
  };
  auto set = [](std::size_t batch, std::uint32_t seed) {
    return std::make_tuple(
        filled<loom::tensor<T, extents<dyn, 16>>>(shape_of({batch, 16}), seed, -1, 1),
        filled<loom::tensor<T, extents<16, 32>>>(shape_of({16, 32}), 71, -0.5, 0.5),
        filled<loom::tensor<T, extents<32>>>(shape_of({32}), 72, -0.1, 0.1),
        filled<loom::tensor<T, extents<10, 32>>>(shape_of({10, 32}), 73, -0.5, 0.5),
        filled<loom::tensor<T, extents<10>>>(shape_of({10}), 74, -0.1, 0.1));
  };
  const auto m = compile_for(mlp, set(1, 75));
  CHECK(op_types(loom::onnx::to_model_proto(m).graph()) ==
        std::vector<std::string>{"Gemm", "Relu", "Transpose", "Gemm", "Softmax", "Identity"});
  write_case("mlp" + dtype_suffix<T>(),
             m,
             f32_or<T>(1e-5, 1e-12),
             f32_or<T>(1e-6, 1e-12),
             {},
             set(1, 75),
             set(37, 76));
}

// Tier 1: callables that declare their decomposition in loom ops, exported as ONNX functions.
// The seed's black box, element-wise:
struct seed_hook {
  template <class T>
  T operator()(T x) const {
    return x * 2 + 10;
  }
  static auto decomposition(auto x) { return x * 2.f + 10.f; }
};
// A whole-tensor one, normalising by the sum:
struct normalise {
  using granularity = loom::whole_tensor;
  void operator()(loom::tensor_view<const float, extents<dyn>> x,
                  loom::tensor_view<float, extents<dyn>> out) const {
    float total = 0;
    for (std::size_t k = 0; k < x.size(); ++k) total += x.data()[k];
    for (std::size_t k = 0; k < x.size(); ++k) out.data()[k] = x.data()[k] / total;
  }
  static auto decomposition(auto x) { return x / loom::sum(x); }
};
// Both a decomposition and a custom op: the function wins, which any runtime runs.
struct also_custom {
  static constexpr std::string_view onnx_op = "Unknown";
  static constexpr std::string_view onnx_domain = "test.loom";
  float operator()(float x) const { return std::tanh(x) * x; }
  static auto decomposition(auto x) { return loom::tanh(x) * x; }
};

TEST_CASE("onnx case: allow_in_graph callables as ONNX functions", "[onnx]") {
  const auto model = [](auto x) {
    const auto y = loom::allow_in_graph<seed_hook>{}(loom::relu(x));
    return std::make_tuple(
        y, loom::allow_in_graph<normalise>{}(loom::exp(x)), loom::allow_in_graph<also_custom>{}(x));
  };
  const auto m = loom::compile(model, loom::input<float, extents<dyn>>{});
  const auto proto = loom::onnx::to_model_proto(m);
  REQUIRE(proto.functions_size() == 3);
  CHECK(proto.functions(0).name() == "seed_hook");
  CHECK(proto.functions(0).domain() == "loom.functions");
  // The body: its constants as Constant nodes, then the decomposition's ops.
  std::vector<std::string> body;
  for (const auto& n : proto.functions(0).node()) body.push_back(n.op_type());
  CHECK(body == std::vector<std::string>{"Constant", "Constant", "Mul", "Add", "Identity"});
  CHECK(proto.functions(0).opset_import(0).version() == 17);
  CHECK(proto.functions(1).name() == "normalise");
  CHECK(proto.functions(2).name() == "also_custom");
  int calls = 0;
  for (const auto& n : proto.graph().node()) calls += n.domain() == "loom.functions";
  CHECK(calls == 3);
  int imports = 0;
  for (const auto& o : proto.opset_import()) imports += o.domain() == "loom.functions";
  CHECK(imports == 1);
  auto set = [](std::size_t n, std::uint32_t seed) {
    return std::make_tuple(filled<vec<float>>(shape_of({n}), seed, -3, 3));
  };
  write_case("functions", m, 1e-5, 1e-6, {}, set(10, 150), set(1000, 160));
  loom::onnx::options at20;
  at20.opset = 20;
  write_case("functions_opset20", m, 1e-5, 1e-6, at20, set(10, 170));
}

TEST_CASE("onnx export: one function per decomposed body", "[onnx]") {
  // seed_hook on f32 twice (one function, two calls) and on f64 (a second function: its
  // constants are f64).
  const auto m = loom::compile(
      [](auto x, auto y) {
        return std::make_tuple(loom::allow_in_graph<seed_hook>{}(x),
                               loom::allow_in_graph<seed_hook>{}(x * 3.f),
                               loom::allow_in_graph<seed_hook>{}(y));
      },
      loom::input<float, extents<dyn>>{},
      loom::input<double, extents<4>>{});
  const auto proto = loom::onnx::to_model_proto(m);
  REQUIRE(proto.functions_size() == 2);
  CHECK(proto.functions(0).name() == "seed_hook");
  CHECK(proto.functions(1).name() == "seed_hook_2");
}
