# Runs every fuzz corpus program (PROGRAMS), prints what each reports, and fails if any
# reports a mismatch or does not finish.
set(_failed "")
foreach(_program IN LISTS PROGRAMS)
  execute_process(COMMAND "${_program}" RESULT_VARIABLE _rc OUTPUT_VARIABLE _out
                  ERROR_VARIABLE _out)
  message("${_program}:\n${_out}")
  if(NOT _rc EQUAL 0)
    list(APPEND _failed "${_program}")
  endif()
endforeach()
if(_failed)
  message(FATAL_ERROR "fuzz corpus: failing programs: ${_failed}\n"
                      "Reproduce and shrink a model with tests/fuzz/run.sh --shrink SEED.")
endif()
