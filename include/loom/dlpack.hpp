#pragma once

// DLPack exchange: loom views and tensors to DLPack tensors and back, without copies (to_dlpack,
// to_dlpack_versioned, from_dlpack). Needs <dlpack/dlpack.h> (Debian: libdlpack-dev); the rest
// of loom never does. Compiled by nvcc, device memory (cuda::device_memory) is covered too.

#include "loom/interop/from_dlpack.hpp"
#include "loom/interop/to_dlpack.hpp"

#if defined(__CUDACC__)
#include "loom/interop/cuda_device.hpp"
#endif
