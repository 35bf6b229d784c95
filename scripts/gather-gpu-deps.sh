#!/usr/bin/env bash
# Copies the header-only dependencies loom needs (Eigen 3.4, the part of Boost
# that Boost.Hana uses, Catch2 v2, DLPack's header) from this Debian 12 machine into a small,
# relocatable CMake prefix, so that a machine without them (the GPU machine)
# can configure loom with
#   -DCMAKE_PREFIX_PATH=<DIR> -DBOOST_ROOT=<DIR>
# and nothing else. Then configures, builds and runs a throwaway CMake project
# against DIR with every system prefix switched off, to prove DIR is complete.
#
#   scripts/gather-gpu-deps.sh [DIR]      (default: <repo>/.deps, git-ignored)
#   scripts/gather-gpu-deps.sh --no-check [DIR]
#
# Layout of DIR (all config files are ours or relocatable; none names /usr):
#   include/eigen3/{Eigen,unsupported,signature_of_eigen3_matrix_library}
#   include/boost/{hana.hpp,hana/,version.hpp,config.hpp,config/}
#   include/catch2/*.hpp
#   include/dlpack/dlpack.h
#   share/eigen3/cmake/Eigen3{Config,ConfigVersion,Targets}.cmake   (Debian's, relocatable)
#   lib/cmake/Boost-1.74.0/BoostConfig{,Version}.cmake              (ours: Boost::headers, Boost::boost)
#   lib/cmake/Catch2/{Catch2Config,Catch2ConfigVersion,Catch,CatchAddTests,ParseAndAddCatchTests}.cmake
#   lib/libCatch2WithMain.a                                         (Debian's, for Catch2::Catch2WithMain)
set -euo pipefail

check=1
if [ "${1:-}" = "--no-check" ]; then
  check=0
  shift
fi
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${1:-$repo/.deps}
marker=.loom-gpu-deps

say() { printf 'gather-gpu-deps: %s\n' "$*"; }
die() { printf 'gather-gpu-deps: error: %s\n' "$*" >&2; exit 1; }

# --- sources on this machine ---------------------------------------------------
eigen_inc=/usr/include/eigen3
eigen_cmake=/usr/share/eigen3/cmake
boost_inc=/usr/include
catch_inc=/usr/include/catch2
catch_cmake=/usr/lib/cmake/Catch2
catch_main_lib=/usr/lib/libCatch2WithMain.a
dlpack_inc=/usr/include/dlpack
for p in "$eigen_inc/Eigen/Core" "$eigen_cmake/Eigen3Config.cmake" "$boost_inc/boost/hana.hpp" \
         "$boost_inc/boost/version.hpp" "$catch_inc/catch.hpp" "$catch_cmake/Catch.cmake" \
         "$catch_cmake/CatchAddTests.cmake" "$catch_cmake/Catch2ConfigVersion.cmake" \
         "$dlpack_inc/dlpack.h"; do
  [ -e "$p" ] || die "$p missing (Debian: apt-get install libeigen3-dev libboost-dev catch2 libdlpack-dev)"
done
boost_version=$(sed -n 's/^#define BOOST_LIB_VERSION "\([0-9_]*\)".*/\1/p' "$boost_inc/boost/version.hpp" | tr _ .)
[ -n "$boost_version" ] || die "cannot read BOOST_LIB_VERSION"
case $boost_version in *.*.*) ;; *) boost_version=$boost_version.0 ;; esac
catch_version=$(sed -n 's/^set(PACKAGE_VERSION "\(.*\)")/\1/p' "$catch_cmake/Catch2ConfigVersion.cmake")

# --- fresh DIR (only ever delete a DIR this script made) -------------------------
if [ -e "$dir" ]; then
  if [ -f "$dir/$marker" ] || [ -z "$(ls -A "$dir")" ]; then
    rm -rf "$dir"
  else
    die "$dir exists and was not made by this script; remove it or pick another DIR"
  fi
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
printf 'made by scripts/gather-gpu-deps.sh on %s\n' "$(date -u +%FT%TZ)" >"$dir/$marker"

# --- Eigen: whole header tree (tests use unsupported/Eigen/SpecialFunctions) ----
mkdir -p "$dir/include/eigen3" "$dir/share/eigen3/cmake"
cp -a "$eigen_inc/Eigen" "$eigen_inc/unsupported" "$dir/include/eigen3/"
[ -e "$eigen_inc/signature_of_eigen3_matrix_library" ] &&
  cp -a "$eigen_inc/signature_of_eigen3_matrix_library" "$dir/include/eigen3/"
# Debian's files compute the prefix from their own location (share/eigen3/cmake -> 3 up).
cp -a "$eigen_cmake/Eigen3Config.cmake" "$eigen_cmake/Eigen3ConfigVersion.cmake" \
      "$eigen_cmake/Eigen3Targets.cmake" "$dir/share/eigen3/cmake/"
[ -e "$eigen_cmake/UseEigen3.cmake" ] && cp -a "$eigen_cmake/UseEigen3.cmake" "$dir/share/eigen3/cmake/"

# --- Boost: Hana plus what it (and FindBoost) needs ------------------------------
# boost/hana.hpp includes only boost/hana/* (checked below with g++ -M). Hana's
# ext/boost adapters (fusion, mpl, tuple) are not included by hana.hpp and are
# left out. version.hpp and config.hpp/config/ let FindBoost recognise the tree.
mkdir -p "$dir/include/boost"
cp -a "$boost_inc/boost/hana.hpp" "$boost_inc/boost/hana" "$boost_inc/boost/version.hpp" \
      "$boost_inc/boost/config.hpp" "$boost_inc/boost/config" "$dir/include/boost/"
# Anything else outside boost/hana/ that hana.hpp pulls in under this compiler.
probe_dir=$(mktemp -d /tmp/gather-gpu-deps.XXXXXX)
trap 'rm -rf "$probe_dir"' EXIT
printf '#include <boost/hana.hpp>\n#include <boost/version.hpp>\n' >"$probe_dir/hana.cpp"
g++ -std=c++20 -M "$probe_dir/hana.cpp" | tr -s ' \134' '\n' | sed -n "s|^$boost_inc/boost/|boost/|p" |
  sort -u | while read -r f; do
    if [ ! -e "$dir/include/$f" ]; then
      mkdir -p "$dir/include/$(dirname "$f")"
      cp -a "$boost_inc/$f" "$dir/include/$f"
      say "extra Boost header: $f"
    fi
  done
mkdir -p "$dir/lib/cmake/Boost-$boost_version"
cat >"$dir/lib/cmake/Boost-$boost_version/BoostConfig.cmake" <<EOF
# Written by loom's scripts/gather-gpu-deps.sh: a header-only subset of Boost
# $boost_version (Boost.Hana and Boost.Config), relocatable. Provides Boost::headers
# (and Boost::boost), like Boost's own config; no compiled components.
get_filename_component(_loom_boost_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(Boost_INCLUDE_DIRS "\${_loom_boost_prefix}/include")
set(Boost_INCLUDE_DIR "\${_loom_boost_prefix}/include")
set(Boost_LIBRARIES "")
set(Boost_VERSION_STRING "$boost_version")
set(Boost_VERSION_MACRO "$(sed -n 's/^#define BOOST_VERSION \([0-9]*\).*/\1/p' "$boost_inc/boost/version.hpp")")
foreach(_loom_boost_comp IN LISTS Boost_FIND_COMPONENTS)
  if(_loom_boost_comp STREQUAL "headers")
    set(Boost_headers_FOUND TRUE)
  else()
    set(Boost_\${_loom_boost_comp}_FOUND FALSE)
    if(Boost_FIND_REQUIRED_\${_loom_boost_comp})
      set(Boost_FOUND FALSE)
      set(Boost_NOT_FOUND_MESSAGE
          "\${CMAKE_CURRENT_LIST_FILE}: header-only subset, no component \${_loom_boost_comp}")
    endif()
  endif()
endforeach()
if(NOT TARGET Boost::headers)
  add_library(Boost::headers INTERFACE IMPORTED)
  set_target_properties(Boost::headers PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "\${_loom_boost_prefix}/include"
    INTERFACE_COMPILE_DEFINITIONS "BOOST_ALL_NO_LIB")
endif()
if(NOT TARGET Boost::boost)
  add_library(Boost::boost INTERFACE IMPORTED)
  set_target_properties(Boost::boost PROPERTIES INTERFACE_LINK_LIBRARIES Boost::headers)
endif()
unset(_loom_boost_prefix)
unset(_loom_boost_comp)
EOF
cat >"$dir/lib/cmake/Boost-$boost_version/BoostConfigVersion.cmake" <<EOF
# Written by loom's scripts/gather-gpu-deps.sh (same rule as Boost's own file).
set(PACKAGE_VERSION $boost_version)
if(PACKAGE_VERSION VERSION_LESS PACKAGE_FIND_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
endif()
EOF

# --- DLPack (one header, for loom/dlpack.hpp and its tests) ------------------------
mkdir -p "$dir/include/dlpack"
cp -a "$dlpack_inc/dlpack.h" "$dir/include/dlpack/"

# --- Catch2 v2 ---------------------------------------------------------------------
mkdir -p "$dir/include/catch2" "$dir/lib/cmake/Catch2"
cp -a "$catch_inc"/*.hpp "$dir/include/catch2/"
# Catch.cmake/CatchAddTests.cmake/ParseAndAddCatchTests.cmake have no paths in them;
# Catch2ConfigVersion.cmake is write_basic_package_version_file's (SameMajorVersion).
for f in Catch.cmake CatchAddTests.cmake ParseAndAddCatchTests.cmake Catch2ConfigVersion.cmake; do
  [ -e "$catch_cmake/$f" ] && cp -a "$catch_cmake/$f" "$dir/lib/cmake/Catch2/"
done
have_main_lib=0
if [ -e "$catch_main_lib" ]; then
  mkdir -p "$dir/lib"
  cp -a "$catch_main_lib" "$dir/lib/"
  have_main_lib=1
fi
# Debian's Catch2Config/Catch2Targets hard-code /usr/lib/cmake/Catch2; ours does not.
cat >"$dir/lib/cmake/Catch2/Catch2Config.cmake" <<EOF
# Written by loom's scripts/gather-gpu-deps.sh: Catch2 $catch_version (v2, single
# header), relocatable. Same targets as Catch2's own config: Catch2::Catch2 and
# Catch2::Catch2WithMain; also puts this directory on CMAKE_MODULE_PATH so that
# include(Catch) / include(ParseAndAddCatchTests) work.
get_filename_component(_loom_catch2_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET Catch2::Catch2)
  list(APPEND CMAKE_MODULE_PATH "\${CMAKE_CURRENT_LIST_DIR}")
  add_library(Catch2::Catch2 INTERFACE IMPORTED)
  set_target_properties(Catch2::Catch2 PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "\${_loom_catch2_prefix}/include"
    INTERFACE_COMPILE_FEATURES cxx_std_11)
  if($have_main_lib AND EXISTS "\${_loom_catch2_prefix}/lib/libCatch2WithMain.a")
    add_library(Catch2::Catch2WithMain STATIC IMPORTED)
    set_target_properties(Catch2::Catch2WithMain PROPERTIES
      IMPORTED_LOCATION "\${_loom_catch2_prefix}/lib/libCatch2WithMain.a"
      IMPORTED_LINK_INTERFACE_LANGUAGES CXX
      INTERFACE_LINK_LIBRARIES Catch2::Catch2)
  endif()
endif()
unset(_loom_catch2_prefix)
EOF

# No config file may point back at this machine.
if grep -rlE '"/usr/|"/build/|/usr/(lib|share|include)/' "$dir" --include='*.cmake' >/dev/null; then
  grep -rnE '"/usr/|"/build/|/usr/(lib|share|include)/' "$dir" --include='*.cmake' >&2
  die "a config file in $dir still names an absolute system path"
fi
say "Eigen $(sed -n 's/^set (EIGEN3_VERSION_STRING "\(.*\)")/\1/p' "$eigen_cmake/Eigen3Config.cmake"), Boost $boost_version (hana subset), Catch2 $catch_version -> $dir"

# --- check: a throwaway project that sees only DIR -------------------------------
if [ "$check" = 1 ]; then
  src=$probe_dir/src
  mkdir -p "$src"
  cat >"$src/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.20)
project(gather_gpu_deps_probe LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
if(PROBE_FINDBOOST)  # the FindBoost-module fallback of loom's CMakeLists, via BOOST_ROOT
  set(Boost_NO_BOOST_CMAKE ON)
  find_package(Boost 1.74 REQUIRED MODULE)
else()
  find_package(Boost 1.74 CONFIG QUIET)
  if(NOT Boost_FOUND)
    message(FATAL_ERROR "Boost config not found")
  endif()
endif()
find_package(Catch2 2 REQUIRED)
include(Catch)
foreach(t Eigen3::Eigen Boost::headers Catch2::Catch2)
  get_target_property(_inc ${t} INTERFACE_INCLUDE_DIRECTORIES)
  message(STATUS "PROBE ${t} include: ${_inc}")
  list(APPEND PROBE_INCLUDES ${_inc})
endforeach()
message(STATUS "PROBE Eigen3_DIR=${Eigen3_DIR} Boost_DIR=${Boost_DIR} Boost_INCLUDE_DIRS=${Boost_INCLUDE_DIRS} Catch2_DIR=${Catch2_DIR} Boost_VERSION=${Boost_VERSION}")
foreach(_p IN LISTS PROBE_INCLUDES Eigen3_DIR Catch2_DIR Boost_INCLUDE_DIRS)
  string(FIND "${_p}" "${DEPS}/" _at)
  if(NOT _at EQUAL 0)
    message(FATAL_ERROR "PROBE: ${_p} is not inside ${DEPS}")
  endif()
endforeach()
add_executable(probe probe.cpp)
target_link_libraries(probe PRIVATE Eigen3::Eigen Boost::headers Catch2::Catch2)
catch_discover_tests(probe)
enable_testing()
EOF
  cat >"$src/probe.cpp" <<'EOF'
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <Eigen/Core>
#include <Eigen/LU>
#include <unsupported/Eigen/SpecialFunctions>
#include <boost/hana.hpp>
#include <boost/version.hpp>
TEST_CASE("deps work") {
  Eigen::Matrix2f m;
  m << 2, 0, 0, 2;
  CHECK(m.determinant() == 4.f);
  constexpr auto t = boost::hana::make_tuple(1, 'a', 2.0);
  static_assert(decltype(boost::hana::size(t))::value == 3);
  CHECK(boost::hana::at_c<0>(t) == 1);
  CHECK(BOOST_VERSION >= 107400);
}
EOF
  gen=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  # Switch every system prefix off so that nothing can come from /usr.
  common=("${gen[@]}" "-DDEPS=$dir" "-DCMAKE_PREFIX_PATH=$dir" "-DBOOST_ROOT=$dir"
          -DBoost_NO_SYSTEM_PATHS=ON -DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF
          -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
          "-DCMAKE_IGNORE_PREFIX_PATH=/usr;/usr/local;/"
          "-DCMAKE_IGNORE_PATH=/usr/include;/usr/include/eigen3;/usr/share/eigen3/cmake;/usr/lib/cmake;/usr/lib/cmake/Catch2;/usr/lib/x86_64-linux-gnu/cmake;/usr/lib/x86_64-linux-gnu/cmake/Boost-$boost_version")
  for mode in config findboost; do
    b=$probe_dir/build-$mode
    extra=()
    [ "$mode" = findboost ] && extra=(-DPROBE_FINDBOOST=ON)
    say "check ($mode): configure"
    cmake -S "$src" -B "$b" "${common[@]}" "${extra[@]}" >"$b.log" 2>&1 ||
      { cat "$b.log" >&2; die "probe configure ($mode) failed"; }
    grep -E 'PROBE|Found Boost' "$b.log" | sed 's/^/    /'
  done
  say "check: build + ctest (catch_discover_tests)"
  cmake --build "$probe_dir/build-config" -j"$(nproc)" >"$probe_dir/build.log" 2>&1 ||
    { cat "$probe_dir/build.log" >&2; die "probe build failed"; }
  ctest --test-dir "$probe_dir/build-config" --output-on-failure --no-tests=error |
    sed -n 's/^/    /;/tests passed\|Test #/p'
  # The compiler's own /usr/include is still on its search path, so a header
  # missing from DIR would silently come from there: list every header the probe,
  # loom's (non-CUDA) headers and its unit tests pull in, and require that no
  # Eigen/Boost/Catch2/DLPack header resolves outside DIR.
  say "check: no Eigen/Boost/Catch2/DLPack header resolves outside $dir"
  {
    echo "$src/probe.cpp"
    find "$repo/include/loom" -name '*.hpp' -not -path '*/backends/cuda/*' \
      -not -name cuda_device.hpp | sort
    ls "$repo"/tests/unit/*.cpp 2>/dev/null || true
  } >"$probe_dir/sources"
  leaks=$probe_dir/leaks
  : >"$leaks"
  skipped=0
  while read -r f; do
    # -MG: a missing header (loom's own, mid-edit) is listed by name, not fatal.
    if ! g++ -std=c++20 -M -MG -I "$repo/include" -I "$dir/include/eigen3" -I "$dir/include" \
        -x c++ "$f" 2>/dev/null >"$probe_dir/dep"; then
      skipped=$((skipped + 1))
      continue
    fi
    tr -s ' \134' '\n' <"$probe_dir/dep" |
      grep -E '^/usr/(local/)?include/(eigen3|boost|catch2|dlpack)/|^(boost|Eigen|unsupported|catch2|dlpack)/' |
      sed "s|^|$f: |" >>"$leaks" || true
  done <"$probe_dir/sources"
  if [ -s "$leaks" ]; then
    sort -u "$leaks" | head -40 >&2
    die "headers above came from the system or are missing, not from $dir"
  fi
  say "check: $(wc -l <"$probe_dir/sources") sources preprocessed, none leaks ($skipped did not preprocess)"
fi

say "size: $(du -sh "$dir" | cut -f1)  ($dir)"
