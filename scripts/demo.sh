#!/usr/bin/env bash
# Builds only the examples (in build-demo) and runs the demo example.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=Release \
  -DLOOM_BUILD_TESTS=OFF -DLOOM_BUILD_EXAMPLES=ON -DLOOM_BUILD_BENCH=OFF
cmake --build build-demo -j2

demo=build-demo/examples/seed_allow_in_graph

exec "$demo"
