#pragma once

#include <string_view>

namespace loom {

// The readable name of a type, for explain() and the text dump; taken from the compiler's
// own spelling of the enclosing function's signature.
template <class T>
constexpr std::string_view type_name() {
  std::string_view s = __PRETTY_FUNCTION__;
  const auto begin = s.find("T = ") + 4;
  const auto end = s.find_first_of(";]", begin);
  return s.substr(begin, end - begin);
}

}  // namespace loom
