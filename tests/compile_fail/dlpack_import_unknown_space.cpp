// expect: error: static assertion failed: loom: from_dlpack: this memory space has no DLPack device
// from_dlpack cannot tell which DLPack devices a memory space of the user's own reads.
#include <loom/dlpack.hpp>

#include "user_memory_space.hpp"

int main() {
  DLManagedTensor* m = nullptr;
  auto t = loom::from_dlpack<float, loom::extents<loom::dyn>, pinned_arena>(m);
  (void)t;
}
