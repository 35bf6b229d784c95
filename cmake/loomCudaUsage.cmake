# loom_cuda_usage(<target>): what a file using loom/cuda.hpp needs besides loom::loom, given
# to an INTERFACE target: loom's own loom::cuda in its build tree, the imported loom::cuda of an
# installed package (loomConfig.cmake, COMPONENTS cuda). Needs CUDAToolkit found.
# nvcc must accept constexpr host functions (Boost.Hana's, the standard library's) in device
# code. -std=c++20 by hand: CMake before 3.30 does not know nvcc 13's standard flags. Warning
# 20012 is nvcc's note on Eigen's defaulted __host__ __device__ members, noise here.
function(loom_cuda_usage target)
  target_link_libraries(${target} INTERFACE loom::loom CUDA::cudart CUDA::cublas)
  target_compile_options(${target} INTERFACE
    $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20 --expt-relaxed-constexpr -Xcudafe=--diag_suppress=20012>)
endfunction()
