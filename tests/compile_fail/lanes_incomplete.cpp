// expect: error: static assertion failed: loom: a backend's lanes must give width, value<T>, load,
// splat, store, convert and apply A backend's lanes type that holds values but cannot load, store
// or apply ops: the fused evaluator names it when it is instantiated with it.
#include <loom/loom.hpp>
struct half_lanes {
  static constexpr std::size_t width = 1;
  template <class T>
  using value = T;
};
int main() {
  auto m = loom::compile([](auto x) { return x + 1.f; }, loom::input<float, loom::extents<4>>{});
  using G = decltype(m)::graph_type;
  (void)sizeof(loom::common::evaluate<G, 0, half_lanes, false>);
}
