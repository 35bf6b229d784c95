#!/usr/bin/env bash
# Builds and runs loom's tests under sanitizers, in a build tree of their own
# (build-sanitize-LEG), without CUDA, examples or benchmarks:
#
#   bash scripts/sanitize.sh address   # ASan + UBSan + _GLIBCXX_ASSERTIONS: the unit tests and
#                                      # the fuzz corpus
#   bash scripts/sanitize.sh thread    # TSan: the concurrency test, without OpenMP
#
# A finding aborts the test (-fno-sanitize-recover=all, halt_on_error), so ctest fails.
# LOOM_SANITIZE_TARGETS (space-separated test executables) replaces the leg's own list;
# LOOM_JOBS (default 2) is the number of compilers and tests run at once.
set -euo pipefail
cd "$(dirname "$0")/.."

leg=${1:-}
case $leg in
  address)
    # ASan, and UBSan's checks but those that ASan covers or that cannot fire here (null,
    # alignment, object-size, pointer-overflow, vptr): with them GCC 12 takes 1.6 times as
    # long to compile these template-heavy tests. float-cast-overflow is not in
    # -fsanitize=undefined; loom::cast promises defined results where C++ leaves them undefined.
    sanitizers=address,signed-integer-overflow,shift,integer-divide-by-zero,float-cast-overflow
    sanitizers+=,bounds,bool,enum,return,unreachable,vla-bound,builtin
    sanitizers+=,nonnull-attribute,returns-nonnull-attribute
    # -O0: GCC compiles these tests with sanitizers twice as fast at -O0 as at -O1, and they
    # run in seconds either way. No -g: frame pointers give the stack traces.
    opt=-O0
    openmp=ON
    # The unit tests but those whose code paths others run too, so that the leg fits CI's
    # budget (about 18 CPU-minutes to compile them all here, 11 for this list): docs_*_test
    # (the guide's snippets); plan_test, export_test and trace_test (the plan, the text
    # dumps and the traced graph: compile-time work); ops_unary_test and ops_binary_test (every
    # op through the same map passes that broadcast_test runs); composites_test (softmax,
    # layer norm... through the row passes of row_pass_test, concurrency_test and the others).
    # optim_test runs the optimizers' in-place updates (outputs that are inputs). The
    # gradient tests are left out: their models run through the same passes as any other.
    # And the random-model fuzz corpus (tests/fuzz: 300 models in 12 programs), run by one
    # test, fuzz_corpus.
    targets=(broadcast_test calls_test exp_float_test in_place_test matmul_test opaque_test
             reduce_test row_pass_test tensor_test views_test aliasing_test bad_input_test
             caller_memory_test concurrency_test empty_extents_test dlpack_test optim_test
             fuzz_programs)
    fuzz=ON
    # 13 million elements through reference loops that take 150 s at -O0: the same code runs
    # on fewer elements (and over the parallel threshold) in the other reduce_test cases.
    skip="long rows: exact integer sums"
    ;;
  thread)
    sanitizers=thread
    opt=-O1
    # GCC's libgomp is not built with TSan, so TSan cannot see the synchronisation inside
    # OpenMP regions and reports races on every pass that splits over threads: false
    # positives that would hide the real ones. Without OpenMP every pass runs on its caller's
    # thread, and what TSan checks is what concurrency_test exercises: many std::threads
    # calling one compiled model and eager ops (the buffer pool) at once.
    openmp=OFF
    targets=(concurrency_test)
    fuzz=OFF
    skip=
    ;;
  *)
    echo "usage: scripts/sanitize.sh address|thread" >&2
    exit 2
    ;;
esac
if [ -n "${LOOM_SANITIZE_TARGETS:-}" ]; then
  read -r -a targets <<<"$LOOM_SANITIZE_TARGETS"
fi

bash scripts/install-deps.sh # g++ brings libasan, libubsan and libtsan
build=build-sanitize-$leg
t0=$(date +%s)
# CMAKE_BUILD_TYPE=Debug so that only these flags choose the optimisation (loom_add_test
# adds -O2 to the other build types).
# LOOM_CHECK_TARGETS makes one target of the list (checked_tests): CMake's Makefiles build
# the targets named on one command line one after another, each on one core.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=$opt" \
  "-DLOOM_SANITIZE=$sanitizers" -DLOOM_USE_OPENMP=$openmp -DLOOM_CUDA=OFF \
  -DLOOM_BUILD_TESTS=ON -DLOOM_BUILD_EXAMPLES=OFF -DLOOM_BUILD_BENCH=OFF -DLOOM_INSTALL=OFF \
  -DLOOM_BUILD_FUZZ=$fuzz "-DLOOM_CHECK_TARGETS=$(IFS=';'; echo "${targets[*]}")"
jobs=${LOOM_JOBS:-2}
cmake --build "$build" -j"$jobs" --target checked_tests
t1=$(date +%s)

# Every test case of the executables built, and nothing else: the regex matches the "NAME:"
# prefix catch_discover_tests gives each case, and the corpus's one test.
pattern="^($(IFS='|'; echo "${targets[*]}")):|^fuzz_corpus$"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
ctest --test-dir "$build" --output-on-failure -j"$jobs" --no-tests=error -R "$pattern" \
  ${skip:+-E "$skip"}
t2=$(date +%s)
echo "sanitize.sh $leg: build $((t1 - t0))s, tests $((t2 - t1))s"
