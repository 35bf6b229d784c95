// expect: error: static assertion failed: loom: save_npy: NumPy has no bf16 dtype; cast the tensor to f32 first
#include <loom/npy.hpp>
int main() {
  loom::tensor<loom::bf16, loom::extents<3>> t;
  t.fill(loom::bf16(1.f));
  loom::save_npy("t.npy", t);
}
