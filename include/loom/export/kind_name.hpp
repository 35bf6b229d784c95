#pragma once

#include <string_view>

#include "loom/graph/node_kind.hpp"

namespace loom {

// How explain() names a node kind.
constexpr std::string_view kind_name(node_kind k) {
  switch (k) {
    case node_kind::input:
      return "input";
    case node_kind::scalar:
      return "scalar";
    case node_kind::literal:
      return "literal";
    case node_kind::elementwise:
      return "element-wise";
    case node_kind::opaque:
      return "opaque (element-wise)";
    case node_kind::reduction:
      return "reduction";
    case node_kind::view:
      return "view";
    case node_kind::matmul:
      return "matmul";
    case node_kind::opaque_call:
      return "opaque (whole-tensor)";
    case node_kind::hook:
      return "hook";
    case node_kind::barrier:
      return "fusion barrier";
  }
  return "?";
}

}  // namespace loom
