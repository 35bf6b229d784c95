#!/usr/bin/env bash
# W8 under nvcc (docs/benchmarks.md, "Under nvcc"): what loom costs nvcc.
#
# 1. The attention block of examples/attention.cpp in a .cu file of its own
#    (bench/gpu/attention_compile.cu), nvcc -O3 -arch=sm_90: wall seconds and nvcc's phases
#    (--time). Target: <= 60 s.
# 2. Every CUDA test file with the flags of the build (read from compile_commands.json of a
#    build configured with nvcc), two at a time: CPU seconds (user + system) per file and in
#    all. Target: <= 12 CPU-minutes.
#
# Usage: bench/compile_time_cuda.sh [cuda-build-dir]   (default: build-cuda)
#   ONLY=attention|tests   one of the two
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build-cuda}" && pwd)
command -v nvcc >/dev/null || PATH=/usr/local/cuda/bin:$PATH
command -v nvcc >/dev/null || { echo "no nvcc" >&2; exit 2; }
eigen=$(pkg-config --cflags-only-I eigen3 2>/dev/null || echo -I/usr/include/eigen3)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "nvcc: $(nvcc --version | tail -1)"

if [[ ${ONLY:-attention} == attention ]]; then
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  nvcc -O3 -DNDEBUG -arch=sm_90 -std=c++20 --expt-relaxed-constexpr -DBOOST_ALL_NO_LIB \
    -Xcudafe=--diag_suppress=20012 -I"$root/include" -I"$root/examples" ${eigen//-I/-isystem } \
    --time "$tmp/phases.csv" -c "$root/bench/gpu/attention_compile.cu" -o "$tmp/attention.o"
  t1=$(date +%s.%N)
  printf 'attention block: %.1f s  (' "$(echo "$t1 - $t0" | bc -l)"
  awk -F' , ' '/cudafe|cicc|ptxas|compiling/ { printf "%s %.1f s; ", $2, $7 / 1000 }' \
    "$tmp/phases.csv"
  echo ")"
fi

if [[ ${ONLY:-tests} == tests ]]; then
  db=$build/compile_commands.json
  [[ -f $db ]] || { echo "no $db: configure a build with nvcc first" >&2; exit 2; }
  # Directory, file and command of each CUDA test source (output sent to $tmp), each
  # followed by a NUL.
  python3 - "$db" "$tmp" >"$tmp/commands" <<'PY'
import json, shlex, sys
db, tmp = sys.argv[1:]
for n, e in enumerate(json.load(open(db))):
    if not e["file"].endswith(".cu") or "/tests/" not in e["file"]:
        continue
    args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
    out = [f"{tmp}/{n}.o" if i > 0 and args[i - 1] == "-o" else a for i, a in enumerate(args)]
    sys.stdout.write(e["directory"] + "\0" + e["file"] + "\0" + shlex.join(out) + "\0")
PY
  compile_one() {  # directory, file, command: prints the CPU seconds and the file
    local t="$tmp/$(basename "$2").time"
    (cd "$1" && /usr/bin/time -f "%U %S" -o "$t" bash -c "$3" >/dev/null 2>&1) ||
      echo "compile of $2 failed" >&2
    printf '%8.1f  %s\n' "$(awk '{print $1 + $2}' "$t")" "${2#"$root"/}"
  }
  export -f compile_one
  export tmp root
  xargs -0 -n 3 -P 2 bash -c 'compile_one "$@"' _ <"$tmp/commands" | sort -rn | tee "$tmp/per_file"
  awk '{s += $1} END {printf "%8.1f  all CUDA test files (%.1f CPU-minutes)\n", s, s / 60}' \
    "$tmp/per_file"
fi
