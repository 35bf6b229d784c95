// expect: error: static assertion failed: loom: to_dlpack: this memory space has no DLPack device
// A memory space of the user's own has no DLPack device loom could write.
#include <loom/dlpack.hpp>

#include "user_memory_space.hpp"

int main() {
  loom::tensor_view<float, loom::extents<loom::dyn>, pinned_arena> v;
  DLManagedTensor* m = loom::to_dlpack(v);
  (void)m;
}
