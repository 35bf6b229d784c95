// loom version. Keep in sync with project(VERSION) in the top-level
// CMakeLists.txt (configure fails if they differ).
#pragma once

#include <string_view>

#define LOOM_VERSION_MAJOR 0
#define LOOM_VERSION_MINOR 1
#define LOOM_VERSION_PATCH 0

#define LOOM_DETAIL_STR2(x) #x
#define LOOM_DETAIL_STR(x) LOOM_DETAIL_STR2(x)
#define LOOM_VERSION_STRING           \
  LOOM_DETAIL_STR(LOOM_VERSION_MAJOR) \
  "." LOOM_DETAIL_STR(LOOM_VERSION_MINOR) "." LOOM_DETAIL_STR(LOOM_VERSION_PATCH)

namespace loom {

/// "MAJOR.MINOR.PATCH"
inline constexpr std::string_view version = LOOM_VERSION_STRING;

}  // namespace loom
