#pragma once

#include <cstddef>

// A memory space of a user's own (not a compile-fail test itself: no `expect` line): loom
// knows nothing about where its memory lives.
struct pinned_arena {
  static constexpr bool host_accessible = true;
  struct context {};
  static void* allocate(std::size_t, context) { return nullptr; }
  static void release(void*, std::size_t, context) noexcept {}
};
