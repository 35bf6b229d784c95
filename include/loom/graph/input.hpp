#pragma once

#include "loom/core/dtype.hpp"
#include "loom/core/extents.hpp"

namespace loom {

// Declares one input of a model to compile(): its element type and static extents.
template <dtype T, extents_type E>
struct input {
  using value_type = T;
  using extents_type = E;
};

}  // namespace loom
