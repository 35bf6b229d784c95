// expect: error: static assertion failed: loom: vjp: the cotangent \(the last argument\) must have the extents of the model's output.*cotangent_fits_output<loom::extents<3, 4>, loom::extents<4, 3> >
// A cotangent whose extents are not the output's is refused at compile time.
#include <loom/loom.hpp>
int main() {
  auto g = loom::compile(loom::vjp([](const auto& x) { return loom::transpose(x) * 2.f; }),
                         loom::input<float, loom::extents<3, 4>>{},
                         loom::input<float, loom::extents<3, 4>>{});
  (void)g;
}
