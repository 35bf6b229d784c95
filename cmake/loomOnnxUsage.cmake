# loom_find_onnx(<found var>): finds ONNX's C++ library (its CMake config, Debian's
# libonnx-dev) and the protobuf it is built on, which ONNX's config does not look for itself.
# loom_onnx_usage(<target>): what a file using loom/onnx.hpp needs besides loom::loom, given to
# an INTERFACE target: loom::onnx in loom's build tree and in an installed package
# (loomConfig.cmake, COMPONENTS onnx).
macro(loom_find_onnx found)
  find_package(Protobuf QUIET)
  if(Protobuf_FOUND)
    find_package(ONNX CONFIG QUIET)
  endif()
  if(Protobuf_FOUND AND ONNX_FOUND AND TARGET onnx)
    set(${found} TRUE)
  else()
    set(${found} FALSE)
  endif()
endmacro()

function(loom_onnx_usage target)
  target_link_libraries(${target} INTERFACE loom::loom onnx onnx_proto protobuf::libprotobuf)
endfunction()
