#!/usr/bin/env bash
# One-shot GPU check for the device machine: configure, build only the CUDA
# targets (cuda_checks), run the CUDA tests, run bench_cuda and the PyTorch peers,
# then (when the tests passed) the CUDA tests again under compute-sanitizer's memcheck,
# initcheck and racecheck (compute_sanitizer.sh), and print one table. Non-interactive;
# every step is timed.
#
#   bash bench/gpu/run.sh DEPS_DIR        # DEPS_DIR: made by scripts/gather-gpu-deps.sh
#
# Environment (all optional):
#   OUT                  where logs, CSVs and the table go (default build-gpu/out)
#   BUILD_DIR            build tree (default build-gpu)
#   LOOM_CMAKE_ARGS      extra configure arguments (word-split)
#   LOOM_PEERS_OVERLAP   1 (default): run peers.py while the CUDA build runs (the build
#                        is niced so the peers' timing thread keeps a core); 0: after
#                        the tests, before bench_cuda's timings are not disturbed either way
#   LOOM_CONFIGURE_ONLY  1: stop after configure (for machines without a GPU)
#   BENCH_TIMEOUT / PEERS_TIMEOUT / TEST_TIMEOUT   seconds (300 / 240 / 120 per test)
#   LOOM_COMPUTE_SANITIZER  0: skip the compute-sanitizer runs (default 1)
#   SANITIZER_TIMEOUT / SANITIZER_BUDGET  seconds per run / for all of them (120 / 420);
#                        see compute_sanitizer.sh for its other settings
#
# Exit status: 0 all good; 1 configure or build failed; 2 CUDA tests failed;
# 3 bench_cuda failed (build and tests fine). The peers never fail the run, nor does
# compute-sanitizer: its result is in the last line ("sanitizers ...") and in
# $OUT/sanitizer.txt. The benchmarks run first, so a long sanitizer run cannot cost them.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1

deps_arg=${1:-.deps}
if [ ! -d "$deps_arg" ]; then
  echo "run.sh: deps dir '$deps_arg' not found (make it with scripts/gather-gpu-deps.sh)" >&2
  exit 1
fi
deps=$(cd "$deps_arg" && pwd)
build=${BUILD_DIR:-build-gpu}
out=${OUT:-$build/out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
bench_timeout=${BENCH_TIMEOUT:-300}
peers_timeout=${PEERS_TIMEOUT:-240}
test_timeout=${TEST_TIMEOUT:-120}
overlap=${LOOM_PEERS_OVERLAP:-1}
jobs=$(nproc 2>/dev/null || echo 8)
export PYTHONUNBUFFERED=1 CI=1 DEBIAN_FRONTEND=noninteractive
exec </dev/null

t_start=$(date +%s)
t_step=$t_start
step_name=
step() { # step NAME: say how long the previous step took, then start NAME
  local now
  now=$(date +%s)
  if [ -n "$step_name" ]; then printf -- '--- %s: %ss\n' "$step_name" "$((now - t_step))"; fi
  step_name=$*
  printf '\n=== t=%ss  %s\n' "$((now - t_start))" "$*"
  t_step=$now
}

# --- machine --------------------------------------------------------------------
step "machine"
if ! command -v nvcc >/dev/null; then
  for d in /usr/local/cuda/bin /usr/local/cuda-13.0/bin /opt/cuda/bin; do
    if [ -x "$d/nvcc" ]; then PATH=$d:$PATH; break; fi
  done
fi
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$out/gpu.txt"
else
  echo "no nvidia-smi" | tee "$out/gpu.txt"
fi
if command -v nvcc >/dev/null; then
  nvcc --version | tail -1 | tee -a "$out/gpu.txt"
else
  echo "no nvcc on PATH" | tee -a "$out/gpu.txt"
fi
echo "cmake: $(cmake --version | head -1)  ninja: $(ninja --version 2>/dev/null || echo none)  cores: $jobs"

# --- configure ----------------------------------------------------------------------
step "configure ($build)"
gen=()
if command -v ninja >/dev/null; then
  gen=(-G Ninja)
  # A kept build tree from another generator would make cmake refuse.
  if [ -f "$build/CMakeCache.txt" ] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$build/CMakeCache.txt"; then
    rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
  fi
fi
cuda_compiler=()
command -v nvcc >/dev/null && cuda_compiler=("-DCMAKE_CUDA_COMPILER=$(command -v nvcc)")
extra=()
# shellcheck disable=SC2206 # word splitting wanted
[ -n "${LOOM_CMAKE_ARGS:-}" ] && extra=(${LOOM_CMAKE_ARGS})
cmake_cmd=(cmake -S . -B "$build" "${gen[@]}" --no-warn-unused-cli
  -DCMAKE_BUILD_TYPE=Release -DLOOM_CUDA=ON -DLOOM_BUILD_EXAMPLES=OFF -DLOOM_NATIVE=ON
  -DCMAKE_CUDA_ARCHITECTURES=90 "${cuda_compiler[@]}"
  "-DCMAKE_PREFIX_PATH=$deps" "-DBOOST_ROOT=$deps" -DBoost_NO_SYSTEM_PATHS=ON
  "${extra[@]}")
echo "${cmake_cmd[*]}"
"${cmake_cmd[@]}" >"$out/configure.log" 2>&1
configure_rc=$?
grep -E '^-- (Found|loom|The CUDA|Check for working CUDA)|Error|error' "$out/configure.log" | head -20
if [ "$configure_rc" -ne 0 ]; then
  echo "configure FAILED (rc $configure_rc); last lines of $out/configure.log:"
  tail -30 "$out/configure.log"
fi
if [ "${LOOM_CONFIGURE_ONLY:-0}" = 1 ]; then
  step "done (configure only)"
  exit $((configure_rc != 0))
fi

# --- peers in the background while nvcc runs ------------------------------------------
peers_pid=
run_peers() {
  timeout -k 10 "$peers_timeout" python3 bench/gpu/peers.py --csv "$out/peers.csv" >"$out/peers.log" 2>&1
  echo "peers.py exit status $?" >>"$out/peers.log"
}
if [ "$overlap" = 1 ]; then
  echo "(peers.py starts now in the background, log: $out/peers.log)"
  run_peers &
  peers_pid=$!
fi

# --- build --------------------------------------------------------------------------
build_rc=1
if [ "$configure_rc" -eq 0 ]; then
  step "build cuda_checks (-j$jobs)"
  nice_cmd=()
  [ -n "$peers_pid" ] && command -v nice >/dev/null && nice_cmd=(nice -n 10)
  "${nice_cmd[@]}" cmake --build "$build" --target cuda_checks -j"$jobs" >"$out/build.log" 2>&1
  build_rc=$?
  if [ "$build_rc" -ne 0 ]; then
    echo "build FAILED (rc $build_rc); errors from $out/build.log:"
    grep -E -B2 -A6 'error|FAILED' "$out/build.log" | head -80
  else
    grep -cE 'warning' "$out/build.log" | sed 's/^/warnings in build log: /'
  fi
fi

if [ -n "$peers_pid" ]; then
  step "wait for peers.py"
  wait "$peers_pid"
  cat "$out/peers.log"
fi

# --- tests ----------------------------------------------------------------------------
test_rc=1
if [ "$build_rc" -eq 0 ]; then
  step "ctest -L cuda"
  ctest --test-dir "$build" -L cuda --output-on-failure -j4 --timeout "$test_timeout" \
    --no-tests=error >"$out/ctest.log" 2>&1
  test_rc=$?
  if [ "$test_rc" -ne 0 ]; then
    grep -vE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* +Passed' "$out/ctest.log" | tail -80
  else
    tail -3 "$out/ctest.log"
  fi
fi

if [ "$overlap" != 1 ]; then
  step "peers.py (timeout ${peers_timeout}s)"
  run_peers
  cat "$out/peers.log"
fi

# --- bench_cuda -------------------------------------------------------------------------
bench_rc=1
if [ "$build_rc" -eq 0 ]; then
  step "bench_cuda (timeout ${bench_timeout}s)"
  bench_exe=
  for c in "$build/bench/bench_cuda" "$build/bench/gpu/bench_cuda"; do
    [ -x "$c" ] && { bench_exe=$c; break; }
  done
  [ -z "$bench_exe" ] && bench_exe=$(find "$build" -name bench_cuda -type f -perm -u+x 2>/dev/null | head -1)
  if [ -n "$bench_exe" ]; then
    timeout -k 10 "$bench_timeout" "$bench_exe" --csv "$out/bench_cuda.csv" 2>&1 | tee "$out/bench_cuda.log"
    bench_rc=${PIPESTATUS[0]}
    [ "$bench_rc" -ne 0 ] && echo "bench_cuda FAILED (rc $bench_rc)"
  else
    echo "bench_cuda not found under $build"
  fi
fi

# --- compute-sanitizer -------------------------------------------------------------------
sanitizer_status="not run"
if [ "$test_rc" -ne 0 ]; then
  sanitizer_status="not run (CUDA tests failed)"
elif [ "${LOOM_COMPUTE_SANITIZER:-1}" = 1 ]; then
  step "compute-sanitizer: memcheck, initcheck, racecheck"
  SANITIZER_TIMEOUT=${SANITIZER_TIMEOUT:-120} SANITIZER_BUDGET=${SANITIZER_BUDGET:-420} \
    bash bench/gpu/compute_sanitizer.sh "$build" "$out" 2>&1 | tee "$out/sanitizer.txt"
  if [ "${PIPESTATUS[0]}" -eq 0 ]; then
    sanitizer_status="clean"
  else
    sanitizer_status="FAILED: $(tail -1 "$out/sanitizer.txt")"
  fi
fi

# --- table ------------------------------------------------------------------------------
step "table"
python3 bench/gpu/table.py "$out/bench_cuda.csv" "$out/peers.csv" 2>&1 | tee "$out/table.txt"

rc=0
status="ok"
if [ "$configure_rc" -ne 0 ] || [ "$build_rc" -ne 0 ]; then
  rc=1; status="configure/build FAILED"
elif [ "$test_rc" -ne 0 ]; then
  rc=2; status="CUDA tests FAILED"
elif [ "$bench_rc" -ne 0 ]; then
  rc=3; status="bench_cuda FAILED"
fi
step "done: $status (configure $configure_rc, build $build_rc, tests $test_rc, bench $bench_rc); sanitizers $sanitizer_status; logs in $out"
exit "$rc"
