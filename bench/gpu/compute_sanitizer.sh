#!/usr/bin/env bash
# Runs loom's CUDA test executables under compute-sanitizer, one tool at a time:
#   memcheck   out-of-bounds and misaligned device accesses, bad frees (the generated
#              kernels' indexing, 16-byte packs, the workspace carving)
#   initcheck  device memory read before anything wrote it (workspace, outputs, stashes)
#   racecheck  shared-memory hazards (the warp and block reductions of the row kernels)
# run.sh calls it after the CUDA tests pass; it also runs alone:
#
#   bash bench/gpu/compute_sanitizer.sh BUILD_DIR OUT_DIR
#
# Environment (optional): SANITIZER_TIMEOUT seconds per run (default 180); SANITIZER_BUDGET
# seconds for all runs together (default 900: runs that would start later are reported "not
# run"); SANITIZER_TOOLS (default "memcheck initcheck racecheck", the slowest last);
# COMPUTE_SANITIZER (default: compute-sanitizer on PATH, or CUDA's bin directory);
# SANITIZER_LEAK_CHECK=1 adds memcheck's --leak-check full (off by default: device memory
# that cuBLAS keeps for its handle until the process ends would count as leaked).
#
# Prints one line per run, then a summary line starting "compute-sanitizer:"; each run's
# output is in OUT_DIR/sanitizer-TOOL-TEST.log. Exit status: 0 when every run was clean (a
# test that reports itself skipped, with no device, counts as clean); 1 otherwise.
set -uo pipefail

build=${1:?usage: compute_sanitizer.sh BUILD_DIR OUT_DIR}
out=${2:?usage: compute_sanitizer.sh BUILD_DIR OUT_DIR}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
per_run=${SANITIZER_TIMEOUT:-180}
budget=${SANITIZER_BUDGET:-900}
tools=${SANITIZER_TOOLS:-memcheck initcheck racecheck}
mkdir -p "$out"

cs=${COMPUTE_SANITIZER:-$(command -v compute-sanitizer || true)}
[ -z "$cs" ] && [ -x /usr/local/cuda/bin/compute-sanitizer ] && cs=/usr/local/cuda/bin/compute-sanitizer
if [ -z "$cs" ] || [ ! -x "$cs" ]; then
  echo "compute-sanitizer: not found (set COMPUTE_SANITIZER); nothing run"
  exit 1
fi

# The device tests: every tests/cuda/*_test.cu but the *_host_test ones, which launch nothing.
tests=()
for src in "$repo"/tests/cuda/*_test.cu; do
  name=$(basename "$src" .cu)
  case $name in *_host_test) continue ;; esac
  tests+=("$name")
done

# The exit status compute-sanitizer gives when the tool found errors: apart from the test's
# own statuses (0, 1 for a failed check, 77 for "no device: skipped").
found=86
start=$(date +%s)
clean=0 failed=0 skipped=0 not_run=0
for tool in $tools; do
  extra=()
  [ "$tool" = memcheck ] && [ "${SANITIZER_LEAK_CHECK:-0}" = 1 ] && extra=(--leak-check full)
  for name in "${tests[@]}"; do
    exe=$build/tests/$name
    log=$out/sanitizer-$tool-$name.log
    if [ $(($(date +%s) - start)) -ge "$budget" ]; then
      result="not run (budget of ${budget}s spent)"
      not_run=$((not_run + 1))
    elif [ ! -x "$exe" ]; then
      result="FAILED: $exe not built"
      failed=$((failed + 1))
    else
      t0=$(date +%s)
      timeout -k 10 "$per_run" "$cs" --tool "$tool" --error-exitcode "$found" "${extra[@]}" \
        "$exe" >"$log" 2>&1 </dev/null
      rc=$?
      secs=$(($(date +%s) - t0))
      case $rc in
        0) result="clean (${secs}s)"; clean=$((clean + 1)) ;;
        77) result="skipped: no CUDA device"; skipped=$((skipped + 1)) ;;
        "$found")
          result="FAILED: $(grep -m1 -o 'ERROR SUMMARY.*' "$log" || echo errors) (${secs}s)"
          failed=$((failed + 1)) ;;
        124 | 137) result="FAILED: timeout after ${per_run}s"; failed=$((failed + 1)) ;;
        *) result="FAILED: the test failed under $tool (exit status $rc, ${secs}s)"
          failed=$((failed + 1)) ;;
      esac
    fi
    printf '%-10s %-22s %s\n' "$tool" "$name" "$result"
  done
done

echo "compute-sanitizer: $clean clean, $failed failed, $skipped skipped (no device), $not_run not run"
[ "$failed" -eq 0 ] && [ "$not_run" -eq 0 ]
