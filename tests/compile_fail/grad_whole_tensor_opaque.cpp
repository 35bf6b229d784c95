// expect: error: static assertion failed: loom: grad: a whole-tensor allow_in_graph<F> is on a differentiated path, but F declares no backward.*declares_backward<copy_all>
// A whole-tensor black box without a backward, on a differentiated path, names F.
#include <loom/loom.hpp>
struct copy_all {
  using granularity = loom::whole_tensor;
  void operator()(loom::tensor_view<const float, loom::extents<loom::dyn>> in,
                  loom::tensor_view<float, loom::extents<loom::dyn>> out) const {
    for (std::size_t i = 0; i < in.size(); ++i) out.data()[i] = in.data()[i];
  }
};
int main() {
  auto g = loom::compile(loom::grad([](const auto& x) { return loom::sum(loom::allow_in_graph<copy_all>{}(x)); }),
                         loom::input<float, loom::extents<loom::dyn>>{});
  (void)g;
}
