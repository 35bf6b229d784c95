#!/usr/bin/env bash
# Full check: deps, configure (Release, tests+examples+bench), build, ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# The CUDA toolkit is not a Debian package here: NVIDIA's installer puts it in /usr/local/cuda.
# Where it is, the CUDA tests and bench_cuda are built too (and skip without a GPU).
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
# Without a GPU the CUDA tests are built only to show that they compile (they report
# themselves skipped): PTX for sm_90 shows that, and skips ptxas, about half of nvcc's time
# (reductions_test.cu: 117 s instead of 248 s). With a GPU they are built for sm_90 and run.
cuda_arch=90
if ! nvidia-smi -L >/dev/null 2>&1; then
  cuda_arch=90-virtual
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
  -DLOOM_BUILD_TESTS=ON -DLOOM_BUILD_EXAMPLES=ON -DLOOM_BUILD_BENCH=ON \
  -DCMAKE_CUDA_ARCHITECTURES=$cuda_arch
cmake --build build -j2
ctest --test-dir build --output-on-failure -j2
