#pragma once

// The CUDA backend: include this (instead of, or beside, loom/loom.hpp) in a file compiled
// by nvcc. Everything in it needs the CUDA toolkit; the rest of loom never does.
#if !defined(__CUDACC__)
#error "loom/cuda.hpp is the CUDA backend: compile this file with nvcc (CMake: LANGUAGES CUDA)"
#endif

#include "loom/api/cuda_compile.hpp"
#include "loom/backends/cuda/device_tensor.hpp"
#include "loom/backends/cuda/gather.hpp"
#include "loom/backends/cuda/optimizer_memory.hpp"
#include "loom/backends/cuda/view_gradients.hpp"
#include "loom/loom.hpp"
