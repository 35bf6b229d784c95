// Built with -Wall -Wextra -Werror (tests/CMakeLists.txt): a warning that loom's headers give
// a user's file fails the build. A few models cover what a user instantiates: element-wise
// ops with an element-wise allow_in_graph<F>, reductions (one to a rank-0 result), views,
// matmul, softmax and layer_norm, a whole-tensor F, eager calls and the exporters. Rank 0
// and plans without steps are there because loops to a bound of 0 are where compilers warn.
// Kept small: it is compile time in every test build.
#include <loom/loom.hpp>

#include <cstddef>
#include <string>
#include <tuple>

namespace {

using loom::dyn;
using loom::extents;
using mat = loom::tensor<float, extents<dyn, dyn>>;
using vec = loom::tensor<float, extents<dyn>>;
using scalar = loom::tensor<float, extents<>>;
using mat_input = loom::input<float, extents<dyn, dyn>>;
using vec_input = loom::input<float, extents<dyn>>;
using scalar_input = loom::input<float, extents<>>;

struct twice_plus_ten {  // element-wise F
  float operator()(float x) const { return x * 2 + 10; }
};

struct row_sums {  // whole-tensor F
  using granularity = loom::whole_tensor;
  template <class E>
  using output_extents = extents<dyn>;
  static loom::shape output_shape(const loom::shape& in) {
    loom::shape s;
    s.rank = 1;
    s.dims[0] = in.dims[0];
    return s;
  }
  void operator()(loom::tensor_view<const float, extents<dyn, dyn>> in,
                  loom::tensor_view<float, extents<dyn>> out) const {
    for (std::size_t r = 0; r < in.extent(0); ++r) {
      out(r) = 0;
      for (std::size_t c = 0; c < in.extent(1); ++c) out(r) += in(r, c);
    }
  }
};

const auto elementwise = [](auto x, auto s) {
  const auto y = loom::allow_in_graph<twice_plus_ten>{}(loom::relu(x)) * 0.5f + s;
  return std::make_tuple(loom::tanh(y), loom::sum(y), loom::max(y, loom::axes<1>));
};

const auto attention_like = [](auto x, auto w) {
  return loom::softmax(loom::slice<1, 0, -1>(loom::matmul(loom::transpose(x), w)));
};

const auto normalised = [](auto x, auto gamma, auto beta) {
  return loom::allow_in_graph<row_sums>{}(loom::layer_norm(x, gamma, beta, 1e-5));
};

const auto identity = [](auto x) {
  return x;
};

}  // namespace

int main() {
  mat x(3, 4);
  vec g(4);
  scalar s;
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = float(i) - 5;
  g.fill(1.f);
  s.fill(1.f);

  const auto m1 = loom::compile(elementwise, mat_input{}, scalar_input{});
  const auto m2 = loom::compile(attention_like, mat_input{}, mat_input{});
  const auto m3 = loom::compile(normalised, mat_input{}, vec_input{}, vec_input{});
  const auto m4 = loom::compile(identity, scalar_input{});
  const auto [a, total, row_max] = m1(x, s);
  const mat p = m2(x, x);
  const vec sums = m3(x, g, g);
  const scalar same = m4(s);
  const mat eager = loom::relu(x) * 2.f;

  const std::string text = loom::explain(m1) + loom::explain(m4) + loom::to_dot(m1) +
                           loom::to_dot(m4) + loom::to_jaxpr(m1) + loom::to_jaxpr(m4);
  const bool ok = a.size() == 12 && total.size() == 1 && row_max.size() == 3 && p.size() == 12 &&
                  sums.size() == 3 && same.size() == 1 && eager.size() == 12 && !text.empty();
  return ok ? 0 : 1;
}
