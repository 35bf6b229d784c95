// libtorch's own DLPack header first, then loom's: both are DLPack 0.6 under one include
// guard, and loom reads whichever came first (the other test file includes loom first). The
// round trip here is called by dlpack_torch_test.cpp.
#include <ATen/DLConvertor.h>
#include <loom/dlpack.hpp>

#include "aten_first.hpp"

at::Tensor torch_through_loom(const at::Tensor& t) {
  auto view = loom::from_dlpack<float, loom::extents<loom::dyn, loom::dyn>>(at::toDLPack(t));
  // A tensor moved into to_dlpack: torch owns it from here and frees it through the deleter.
  loom::tensor<float, loom::extents<loom::dyn, loom::dyn>> copy(view.shape());
  for (std::size_t k = 0; k < copy.size(); ++k) copy.data()[k] = view.data()[k] + 1.f;
  return at::fromDLPack(loom::to_dlpack(std::move(copy)));
}
