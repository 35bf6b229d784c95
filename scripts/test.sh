#!/usr/bin/env bash
# Full check: deps, configure (Release, tests+examples+bench), build, ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
  -DLOOM_BUILD_TESTS=ON -DLOOM_BUILD_EXAMPLES=ON -DLOOM_BUILD_BENCH=ON
cmake --build build -j2
ctest --test-dir build --output-on-failure -j2
