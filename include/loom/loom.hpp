#pragma once

// The whole public API: tensors, tracing and scripting, ops, allow_in_graph, compile,
// gradients, optimizers and explain.
#include "loom/api/compile.hpp"
#include "loom/api/composites.hpp"
#include "loom/api/explain.hpp"
#include "loom/api/ops.hpp"
#include "loom/api/reduce.hpp"
#include "loom/api/structure.hpp"
#include "loom/api/views.hpp"
#include "loom/autodiff/grad.hpp"
#include "loom/backends/eager/eager.hpp"
#include "loom/core/dtype.hpp"
#include "loom/core/extents.hpp"
#include "loom/export/dot.hpp"
#include "loom/export/jaxpr.hpp"
#include "loom/tensor/eigen.hpp"
#include "loom/tensor/tensor.hpp"
#include "loom/train/adam.hpp"
#include "loom/train/sgd.hpp"
#include "loom/train/training_step.hpp"
#include "loom/version.hpp"
