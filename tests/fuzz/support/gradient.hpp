#pragma once

// The gradient check of a generated model: loom::grad of sum(output * cotangent) over the
// model's floating-point outputs, compared along one random direction with central
// differences of the reference, evaluated without float rounding (the function the model's
// ops define). Where that function is not smooth along the direction (relu at 0, a tie of a
// max, a comparison or cast that changes between the two sides), or loom's forward values are
// too inexact in their dtypes for a derivative to mean much, the case is left out.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "reference.hpp"
#include "session.hpp"

namespace fz {

// A model's reference as a function of its inputs' tensors: node i's tensor at position i.
using reference_fn = std::function<std::vector<ref::tensor>(const std::vector<ref::tensor>&)>;

struct gradient_spec {
  std::vector<std::size_t> wrt;   // the inputs differentiated, by position
  std::vector<std::size_t> loss;  // the nodes whose sum(node * cotangent) is the loss
  bool f64 = false;               // no f32 value in the model: a tighter tolerance
};

// What the reference says of the loss along `direction` (one vector per input in wrt).
struct gradient_probe {
  std::string unusable;  // why the case is left out; empty where it is checked
  std::vector<std::vector<double>> direction;
  double forward = 0, backward = 0, central = 0;  // one-sided and central differences
  double noise = 0;  // what rounding in the reference's double arithmetic may add to them
};

gradient_probe probe_gradient(const reference_fn& reference,
                              const gradient_spec& spec,
                              const std::vector<ref::tensor>& inputs,
                              const std::vector<ref::tensor>& cotangents,
                              std::uint64_t seed);

// Checks loom's gradients (one vector per input in wrt) against the probe.
void compare_gradient(session& s,
                      const gradient_probe& p,
                      const std::vector<std::vector<double>>& grads,
                      bool f64);

}  // namespace fz
