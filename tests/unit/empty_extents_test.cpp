// Every kind of node on a tensor with an extent of 0: element-wise ops with broadcasting,
// selection and casts, an element-wise opaque call, reductions, views, matrix products,
// composites, a whole-tensor call, a hook and a barrier. Each model runs compiled (into new
// tensors, and into poisoned buffers that must all be written) and eagerly, on [0, 5], [4, 0]
// and [0, 0]. An empty result is computed by doing nothing; a result with elements gets the
// value of an empty fold (sum 0, prod 1, mean NaN, a product over an inner extent of 0 zeros).
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "test_support.hpp"

using loom::dyn;
using loom::extents;
using loom_test::dnan;
using loom_test::make_shape;
using loom_test::reference;

namespace {

using loom_test::mat;
using loom_test::mat_in;
using loom_test::vec_in;
using vec = loom_test::vec<float>;

const std::vector<loom::shape> empty_shapes{
    make_shape({0, 5}), make_shape({4, 0}), make_shape({0, 0})};

// A result of shape `s`, every element `value` (nothing, where s has no elements).
reference filled(const loom::shape& s, double value) {
  return loom_test::reference_of(s, [&](std::size_t) { return value; });
}
reference nothing(const loom::shape& s) {
  return filled(s, 0);
}

template <class T>
inline constexpr bool is_tuple_v = false;
template <class... T>
inline constexpr bool is_tuple_v<std::tuple<T...>> = true;

template <class Tensor>
void check_one(const Tensor& got, const reference& want, const std::string& what) {
  LOOM_CHECK_REPORT(loom_test::compare_exact(got, want, what));
}

// A result (one tensor or a tuple of them) against one reference per tensor, exactly.
template <class Result>
void check_results(const Result& got, const std::vector<reference>& want, const std::string& what) {
  if constexpr (is_tuple_v<Result>) {
    REQUIRE(want.size() == std::tuple_size_v<Result>);
    std::size_t k = 0;
    std::apply(
        [&](const auto&... r) {
          ((check_one(r, want[k], what + ", result " + std::to_string(k)), ++k), ...);
        },
        got);
  } else {
    REQUIRE(want.size() == 1);
    check_one(got, want[0], what);
  }
}

// `compiled.run` into buffers shaped like `like`'s results, poisoned first.
template <class M, class Like, class... Args>
Like run_poisoned(const M& compiled, Like like, const Args&... args) {
  if constexpr (is_tuple_v<Like>) {
    std::apply([](auto&... o) { (loom_test::poison(o), ...); }, like);
    std::apply([&](auto&... o) { compiled.run(std::tie(o...), args...); }, like);
  } else {
    loom_test::poison(like);
    compiled.run(like, args...);
  }
  return like;
}

// `model` compiled for `inputs`, run on `args` into new tensors and into poisoned buffers, and
// run eagerly; every result against `want`.
template <class Model, class... Inputs, class... Args>
void check_everywhere(Model model,
                      std::tuple<Inputs...> inputs,
                      const std::vector<reference>& want,
                      const std::string& what,
                      const Args&... args) {
  const auto compiled = std::apply([&](auto... in) { return loom::compile(model, in...); }, inputs);
  const auto fresh = compiled(args...);
  check_results(fresh, want, what + ", compiled");
  check_results(run_poisoned(compiled, fresh, args...), want, what + ", into buffers");
  check_results(model(args...), want, what + ", eager");
}

std::string name_of(const loom::shape& s) {
  return "x of " + s.to_string();
}

// An element-wise opaque call and a whole-tensor one; the whole-tensor one counts its calls.
struct halve {
  float operator()(float v) const { return v / 2; }
};
struct copy_call {
  using granularity = loom::whole_tensor;
  int* calls;
  void operator()(loom::tensor_view<const float, extents<dyn, dyn>> in,
                  loom::tensor_view<float, extents<dyn, dyn>> out) const {
    ++*calls;
    std::copy(in.begin(), in.end(), out.begin());
  }
};

}  // namespace

TEST_CASE("element-wise ops, broadcasting, where and cast on empty tensors", "[empty]") {
  for (const loom::shape& s : empty_shapes) {
    const std::size_t rows = s.dims[0], cols = s.dims[1];
    const auto model = [](const auto& x, const auto& row, const auto& column) {
      return std::make_tuple(loom::exp(x) * 2.f + row,
                             x * column,
                             row * column,  // [cols] by [rows, 1]: an outer product
                             loom::where(x > 0.f, x, loom::allow_in_graph<halve>{}(x)),
                             loom::cast<double>(x) < 1.0);
    };
    check_everywhere(model,
                     std::tuple{mat_in{}, vec_in{}, mat_in{}},
                     {nothing(s), nothing(s), nothing(s), nothing(s), nothing(s)},
                     name_of(s),
                     mat(rows, cols),
                     vec(cols),
                     mat(rows, 1));
  }
}

TEST_CASE("reductions over and beside an empty axis", "[empty][reduce]") {
  for (const loom::shape& s : empty_shapes) {
    const std::size_t rows = s.dims[0], cols = s.dims[1];
    const auto model = [](const auto& x) {
      return std::make_tuple(loom::sum(x, loom::axes<-1>),
                             loom::mean(x, loom::axes<-1>, loom::keepdims),
                             loom::prod(x),
                             loom::sum(x * x, loom::axes<0>));
    };
    check_everywhere(model,
                     std::tuple{mat_in{}},
                     {filled(make_shape({rows}), 0),
                      filled(make_shape({rows, 1}), dnan),
                      filled(make_shape({}), 1),
                      filled(make_shape({cols}), 0)},
                     name_of(s),
                     mat(rows, cols));
  }
  // max and argmax of empty rows, when there are no rows: an empty result, no error (with
  // rows, tests/unit/bad_input_test.cpp checks the error).
  for (const loom::shape& s : {make_shape({0, 5}), make_shape({0, 0})}) {
    const auto model = [](const auto& x) {
      return std::make_tuple(loom::max(x, loom::axes<-1>), loom::argmax(x, loom::axes<-1>));
    };
    check_everywhere(model,
                     std::tuple{mat_in{}},
                     {nothing(make_shape({0})), nothing(make_shape({0}))},
                     name_of(s),
                     mat(s));
  }
}

TEST_CASE("views of empty tensors", "[empty][views]") {
  for (const loom::shape& s : empty_shapes) {
    const std::size_t rows = s.dims[0], cols = s.dims[1];
    const auto model = [](const auto& x) {
      return std::make_tuple(loom::transpose(x),
                             loom::reshape<extents<dyn>>(x) + 1.f,
                             loom::slice<1, 1>(x),
                             loom::broadcast_to<extents<2, dyn, dyn>>(x),
                             loom::exp(loom::permute<1, 0>(x)));
    };
    check_everywhere(model,
                     std::tuple{mat_in{}},
                     {nothing(make_shape({cols, rows})),
                      nothing(make_shape({0})),
                      nothing(make_shape({rows, cols == 0 ? 0 : cols - 1})),
                      nothing(make_shape({2, rows, cols})),
                      nothing(make_shape({cols, rows}))},
                     name_of(s),
                     mat(rows, cols));
  }
}

TEST_CASE("matrix products with an empty extent", "[empty][matmul]") {
  for (const loom::shape& s : empty_shapes) {
    const std::size_t rows = s.dims[0], cols = s.dims[1];
    mat w(cols, 3);
    w.fill(1.f);
    // x w + 1: ones where x has rows but no columns (an inner extent of 0). x^T x: zeros where
    // x has columns but no rows, read through a transpose.
    const auto model = [](const auto& x, const auto& w) {
      return std::make_tuple(loom::matmul(x, w) + 1.f, loom::matmul(loom::transpose(x), x));
    };
    check_everywhere(model,
                     std::tuple{mat_in{}, mat_in{}},
                     {filled(make_shape({rows, 3}), 1), filled(make_shape({cols, cols}), 0)},
                     name_of(s),
                     mat(rows, cols),
                     w);
  }
}

TEST_CASE("composites of empty tensors", "[empty][composites]") {
  for (const loom::shape& s : empty_shapes) {
    const std::size_t rows = s.dims[0], cols = s.dims[1];
    INFO(name_of(s));
    // Rows with no elements: the results have none either, so nothing is computed and nothing
    // thrown, though the row maximum a softmax subtracts has no value.
    const auto model = [](const auto& x) {
      return std::make_tuple(
          loom::softmax(x), loom::log_softmax(x), loom::layer_norm(x, 1e-5), loom::mse_loss(x, x));
    };
    check_everywhere(model,
                     std::tuple{mat_in{}},
                     {nothing(s), nothing(s), nothing(s), filled(make_shape({}), dnan)},
                     name_of(s),
                     mat(rows, cols));
  }
}

TEST_CASE("a whole-tensor call, a hook and a barrier on empty tensors", "[empty][calls]") {
  for (const loom::shape& s : empty_shapes) {
    int calls = 0, hooks = 0;
    const auto model = [&calls, &hooks](const auto& x) {
      auto y = loom::allow_in_graph<copy_call>{{&calls}}(loom::fusion_barrier(x * 2.f));
      return loom::hook(y,
                        [&hooks](loom::tensor_view<const float, extents<dyn, dyn>> v) {
                          hooks += v.size() == 0 ? 1 : 100;
                        }) +
             1.f;
    };
    check_everywhere(model, std::tuple{mat_in{}}, {nothing(s)}, name_of(s), mat(s));
    // Compiled twice (into new tensors, into buffers), eager once: each call and hook once.
    CHECK(calls == 3);
    CHECK(hooks == 3);
  }
}
