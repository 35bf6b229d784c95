# Packaging checks, run by ctest as `cmake -DMODE=... -P run.cmake`.
#   MODE=install:      `cmake --install` the loom build tree into WORK_DIR/pkg_prefix_consumer,
#                      then build consumer/ against it with find_package(loom CONFIG).
#   MODE=install_cuda: the same with cuda_consumer/, a .cu file built through
#                      find_package(loom CONFIG COMPONENTS cuda) and loom::cuda (CUDA_COMPILER:
#                      the nvcc to build it with).
#   MODE=install_onnx: the same with onnx_consumer/, through
#                      find_package(loom CONFIG COMPONENTS onnx) and loom::onnx.
#   MODE=subdir:       build subdir_consumer/, which add_subdirectory()s the loom sources.
#   MODE=fetchcontent: build fetchcontent_consumer/, which FetchContent's the loom
#                      sources from LOOM_SOURCE_DIR (SOURCE_DIR, no network).
# Either way the consumer binary must run and exit 0.
# Inputs: MODE LOOM_SOURCE_DIR LOOM_BINARY_DIR WORK_DIR CXX GENERATOR CONFIG
#         INSTALL_CMAKEDIR (MODE=install: where loomConfig.cmake must be, relative to the prefix)
if(NOT CONFIG)
  set(CONFIG Release)
endif()
set(_here "${CMAKE_CURRENT_LIST_DIR}")

if(MODE STREQUAL "install" OR MODE STREQUAL "install_cuda" OR MODE STREQUAL "install_onnx")
  if(MODE STREQUAL "install")
    set(_consumer consumer)
  elseif(MODE STREQUAL "install_cuda")
    set(_consumer cuda_consumer)
  else()
    set(_consumer onnx_consumer)
  endif()
  set(_prefix "${WORK_DIR}/pkg_prefix_${_consumer}")
  set(_src "${_here}/${_consumer}")
  set(_bin "${WORK_DIR}/pkg_${_consumer}_build")
  file(REMOVE_RECURSE "${_prefix}") # no stale headers from earlier runs
  execute_process(COMMAND "${CMAKE_COMMAND}" --install "${LOOM_BINARY_DIR}"
                          --prefix "${_prefix}" --config "${CONFIG}"
                  COMMAND_ECHO STDOUT COMMAND_ERROR_IS_FATAL ANY)
  set(_extra "-DCMAKE_PREFIX_PATH=${_prefix}")
  if(MODE STREQUAL "install_cuda")
    list(APPEND _extra "-DCMAKE_CUDA_COMPILER=${CUDA_COMPILER}")
  endif()
elseif(MODE STREQUAL "subdir")
  set(_src "${_here}/subdir_consumer")
  set(_bin "${WORK_DIR}/pkg_subdir_consumer_build")
  set(_extra "-DLOOM_SOURCE_DIR=${LOOM_SOURCE_DIR}")
elseif(MODE STREQUAL "fetchcontent")
  set(_src "${_here}/fetchcontent_consumer")
  set(_bin "${WORK_DIR}/pkg_fetchcontent_consumer_build")
  set(_extra "-DLOOM_SOURCE_DIR=${LOOM_SOURCE_DIR}")
else()
  message(FATAL_ERROR
          "run.cmake: MODE must be install, install_cuda, install_onnx, subdir or fetchcontent, "
          "got '${MODE}'")
endif()

# Fresh configure each time: a cached loom_DIR could hide a broken install.
file(REMOVE_RECURSE "${_bin}")
execute_process(COMMAND "${CMAKE_COMMAND}" -S "${_src}" -B "${_bin}" -G "${GENERATOR}"
                        "-DCMAKE_CXX_COMPILER=${CXX}" "-DCMAKE_BUILD_TYPE=${CONFIG}" ${_extra}
                COMMAND_ECHO STDOUT COMMAND_ERROR_IS_FATAL ANY)

if(_prefix)
  # Make sure it was *our* fresh install that find_package picked up, from where
  # loom installs its package (share/cmake/loom by default: header-only, arch-independent).
  if(NOT INSTALL_CMAKEDIR)
    message(FATAL_ERROR "run.cmake: MODE=install needs -DINSTALL_CMAKEDIR=...")
  endif()
  if(IS_ABSOLUTE "${INSTALL_CMAKEDIR}")
    set(_want "${INSTALL_CMAKEDIR}")
  else()
    set(_want "${_prefix}/${INSTALL_CMAKEDIR}")
  endif()
  file(STRINGS "${_bin}/CMakeCache.txt" _loom_dir REGEX "^loom_DIR:")
  string(REGEX REPLACE "^loom_DIR:[A-Z]*=" "" _loom_dir "${_loom_dir}")
  if(NOT _loom_dir STREQUAL _want)
    message(FATAL_ERROR "consumer found loom in '${_loom_dir}', expected '${_want}'")
  endif()
endif()

execute_process(COMMAND "${CMAKE_COMMAND}" --build "${_bin}" --config "${CONFIG}"
                COMMAND_ECHO STDOUT COMMAND_ERROR_IS_FATAL ANY)
# Single-config generators put it in ${_bin}, multi-config ones in ${_bin}/<config>.
find_program(_exe consumer PATHS "${_bin}" "${_bin}/${CONFIG}" NO_DEFAULT_PATH REQUIRED)
execute_process(COMMAND "${_exe}" COMMAND_ECHO STDOUT COMMAND_ERROR_IS_FATAL ANY)
