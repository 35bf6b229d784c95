#pragma once

// Functions that must run on the host and, once the CUDA backend compiles the same op
// descriptors under nvcc, on the device too.
#if defined(__CUDACC__)
#define LOOM_HD __host__ __device__
#else
#define LOOM_HD
#endif

#define LOOM_INLINE inline __attribute__((always_inline))
// Error paths: compiled once per program, out of the line of the hot code. A template that
// can fail calls such a function with run-time values instead of building its message
// itself, which would put one copy of the string code into every instantiation.
#define LOOM_COLD __attribute__((cold, noinline))
// A function that every model's code calls and whose body costs far more than the call (a
// lock, a map): compiled once, instead of inlined into each caller.
#define LOOM_OUT_OF_LINE __attribute__((noinline))
#define LOOM_INLINE_LAMBDA __attribute__((always_inline))

// The evaluator of a fused step, written once for the CPU's blocks and a GPU thread's
// elements.
#if defined(__CUDACC__)
#define LOOM_HD_INLINE __host__ __device__ __forceinline__
// Before such a function (and its template header): nvcc checks each instantiation's
// execution space, and the CPU's instantiations call Eigen's host code, which is right for
// them. An op's own scalar function, and an F's, is still checked (see ops::opaque).
#define LOOM_NO_EXEC_CHECK _Pragma("nv_exec_check_disable")
#else
#define LOOM_HD_INLINE LOOM_INLINE
#define LOOM_NO_EXEC_CHECK
#endif

// `#pragma unroll` for a loop of a __host__ __device__ function: the device compiler's, and
// nothing for the host compiler, which does not know the pragma (g++ -Wall warns of it).
#if defined(__CUDA_ARCH__)
#define LOOM_UNROLL _Pragma("unroll")
#else
#define LOOM_UNROLL
#endif
