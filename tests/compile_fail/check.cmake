# cmake -DENV_FILE=<file> -DSOURCE=<snippet> -DEXPECT=<regex> -P check.cmake
# Succeeds only if SOURCE does not compile and the diagnostics match EXPECT.
# ENV_FILE (written by tests/CMakeLists.txt) sets LOOM_CF_CXX, LOOM_CF_FLAGS and LOOM_CF_LANG
# (c++, or cu for nvcc).
foreach(_var ENV_FILE SOURCE EXPECT)
  if("${${_var}}" STREQUAL "")
    message(FATAL_ERROR "check.cmake: ${_var} is not set")
  endif()
endforeach()
include("${ENV_FILE}")
# The regex is read again here, not only at configure time, so editing a snippet's
# `// expect:` line takes effect without re-running cmake.
file(STRINGS "${SOURCE}" _first LIMIT_COUNT 1)
if(_first MATCHES "^[ \t]*//[ \t]*expect:[ \t]*(.*[^ \t\r])")
  set(EXPECT "${CMAKE_MATCH_1}")
endif()
set(ENV{LC_ALL} C) # untranslated compiler messages, so regexes stay valid

# -x: the self-test snippet is a .cpp.in file.
execute_process(COMMAND "${LOOM_CF_CXX}" ${LOOM_CF_FLAGS} -x ${LOOM_CF_LANG} "${SOURCE}"
                RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
if(_rc EQUAL 0)
  # The token is what the selftest_compiles test looks for (no spaces: CMake
  # re-wraps FATAL_ERROR text).
  message(FATAL_ERROR "LOOM_SNIPPET_COMPILED: ${SOURCE} compiled without error, but must not")
endif()
string(REGEX MATCH "${EXPECT}" _match "${_out}")
if(_match STREQUAL "")
  message("----- compiler output -----\n${_out}---------------------------") # unwrapped
  message(FATAL_ERROR "${SOURCE}: compilation failed as expected, but the output above "
                      "does not match /${EXPECT}/")
endif()
message(STATUS "${SOURCE}: failed to compile as expected (matched '${_match}')")
