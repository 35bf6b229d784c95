#!/usr/bin/env bash
# W8 (BENCH.md): what loom costs at compile time.
#
# Compiles every CPU bench source (bench/bench_cpu.cpp, the workloads bench/cpu/w*.cpp) with exactly the
# flags of the build (read from compile_commands.json), and a file that includes the same
# headers (<loom/loom.hpp>, <benchmark/benchmark.h>, <Eigen/Core>) and does nothing: the
# floor no source that uses loom can go below. Prints the seconds of each (the best of
# REPEAT compiles, since the machine is shared and a compile is easily slowed, never sped
# up) and its ratio to the floor. Target: each ratio <= 2.
#
# Usage: bench/compile_time.sh [build-dir]   (default: build; needs a configured build)
#   REPEAT=n   compiles per file (default 3)
#   STRICT=1   exit 1 when a ratio is over the target
#   ONLY=regex  time only the sources whose path matches (the floor always)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
db=$build/compile_commands.json
repeat=${REPEAT:-3}
target=2
[[ -f $db ]] || { echo "no $db: configure with cmake first" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/include_only.cpp" <<'EOF'
// W8 floor: the headers every bench source includes, and nothing else.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <loom/loom.hpp>

int main() { return 0; }
EOF

# Prints "directory<TAB>compiler and flags" for a source, without -o/-c and their operands;
# a source the database lacks (a new bench/cpu file before cmake re-ran) gets bench_cpu.cpp's.
flags_for() {
  python3 - "$db" "$1" "$root/bench/bench_cpu.cpp" <<'EOF'
import json, shlex, sys
db, want, fallback = sys.argv[1:]
entries = {e["file"]: e for e in json.load(open(db))}
e = entries.get(want) or entries.get(fallback)
if e is None:
    sys.exit("compile_commands.json has no entry for bench/bench_cpu.cpp")
args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
out, skip = [], False
for a in args:
    if skip:
        skip = False
    elif a in ("-o", "-c"):
        skip = True
    elif a != e["file"]:
        out.append(a)
print(e["directory"] + "\t" + shlex.join(out))
EOF
}

# Best wall-clock seconds of $repeat compiles of $1.
time_compile() {
  local src=$1 line dir cmd best="" t0 t1 s
  line=$(flags_for "$src")
  dir=${line%%$'\t'*}
  cmd=${line#*$'\t'}
  for ((i = 0; i < repeat; ++i)); do
    t0=$(date +%s.%N)
    # Diagnostics are not what is measured: shown only when the compile fails.
    if ! (cd "$dir" && eval "$cmd -c \"$src\" -o \"$tmp/out.o\"") 2>"$tmp/log"; then
      cat "$tmp/log" >&2
      echo "compile of $src failed" >&2
      exit 2
    fi
    t1=$(date +%s.%N)
    s=$(echo "$t1 - $t0" | bc -l)
    if [[ -z $best ]] || (($(echo "$s < $best" | bc -l))); then best=$s; fi
  done
  printf '%.2f\n' "$best"
}

echo "compiler: $(flags_for "$root/bench/bench_cpu.cpp" | cut -f2 | cut -d' ' -f1) ($(c++ --version | head -1))"
echo "best of $repeat compiles each"
floor=$(time_compile "$tmp/include_only.cpp")
printf '%-40s %7s s\n' "include-only floor" "$floor"

status=0
# The workloads only: bench/cpu/libtorch_peers.cpp is the time of torch's headers, not loom's.
for src in "$root/bench/bench_cpu.cpp" "$root"/bench/cpu/w*.cpp; do
  [[ -f $src ]] || continue
  [[ -z ${ONLY:-} || $src =~ $ONLY ]] || continue
  s=$(time_compile "$src")
  ratio=$(echo "$s / $floor" | bc -l)
  verdict=ok
  if (($(echo "$ratio > $target" | bc -l))); then verdict="OVER ${target}x"; status=1; fi
  printf '%-40s %7s s  %5.2fx floor  %s\n' "${src#"$root"/}" "$s" "$ratio" "$verdict"
done
[[ ${STRICT:-0} == 1 ]] && exit $status
exit 0
