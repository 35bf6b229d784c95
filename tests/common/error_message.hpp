#pragma once

// The message of an exception a test expects, for tests that check what it names (the op and
// the shapes involved, the failed CUDA call). Shared by tests/unit and tests/cuda; host code
// only.

#include <loom/loom.hpp>

#include <string>
#include <utility>

namespace loom_test {

// The message of the `Error` that `f` throws, or `none` if it threw none (which then fails
// the test's check of the message, and says why).
template <class Error, class F>
std::string error_message(F&& f, const char* none) {
  try {
    std::forward<F>(f)();
  } catch (const Error& e) {
    return e.what();
  }
  return none;
}

// The message of the loom::shape_error `f` throws.
template <class F>
std::string shape_error_message(F&& f) {
  return error_message<loom::shape_error>(std::forward<F>(f), "<no loom::shape_error thrown>");
}

}  // namespace loom_test
