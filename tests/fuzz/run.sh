#!/bin/sh
# Random-model differential fuzzing of loom: generates models from seeds, builds them against
# this checkout's include/ and runs each compiled (1 and 3 threads), eagerly, in place and
# against a double-precision reference. Examples:
#   tests/fuzz/run.sh --seeds 1..200 --jobs 2       run 200 models, two builds at a time
#   tests/fuzz/run.sh --seeds 1..50 --sanitize      under ASan, UBSan and _GLIBCXX_ASSERTIONS
#   tests/fuzz/run.sh --seeds 1..25 --gpu           build the CUDA programs (nvcc)
#   tests/fuzz/run.sh --shrink 17                   the smallest model that still fails like 17
# See docs/reliability.md.
exec python3 "$(dirname "$0")/driver.py" "$@"
