#pragma once

// The non-template part of a fuzz program: its options, its tally, how a failure is printed,
// the random input data, and the comparison of a result with the reference.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "reference.hpp"

namespace fz {

// How the random values of an input are drawn. `special_rate` of them are replaced by NaN,
// infinities, -0, subnormals, huge or tiny values (integers: INT32_MIN/MAX, 0, -1).
struct dist {
  enum kind_t { uniform, integers, bools, magnitudes } kind = uniform;
  double lo = -1, hi = 1, special_rate = 0;
};

// Fills `out` (values as doubles, already representable in `t`) deterministically from
// `seed`.
void fill(std::vector<double>& out, ref::dtype t, const dist& d, std::uint64_t seed);

struct options {
  bool eager = true, inplace = true, grad = true, verbose = false, dump = false;
  std::vector<int> threads{1, 3};
  long only = -1;  // run this model only (--model N)
};

class session {
 public:
  session(int argc, char** argv);

  options opt;
  long models = 0, checks = 0, mismatches = 0, elements = 0, undetermined = 0;
  // Gradient checks (gradient.hpp), one per run of a gradient model: compared, left out where
  // the loss is not smooth along the direction or loom's forward values are too inexact; and
  // models whose gradient compile() refused with loom::trace_error (run-time scalars it
  // cannot tell apart).
  long gradients = 0, gradients_undetermined = 0, gradients_refused = 0;

  bool wants(long seed) const { return opt.only < 0 || opt.only == seed; }
  // Names what the next failures belong to.
  void begin(long seed, int config, const std::string& mode);
  void fail(const std::string& what);
  void skip_gradient(long seed, const std::string& why);
  // Compares a result with the reference; `label` names the output.
  void compare(const std::string& label,
               const ref::tensor& want,
               const std::vector<double>& got,
               const std::vector<std::size_t>& got_shape);
  // Prints the summary line; the program's exit status.
  int finish() const;

 private:
  long seed_ = 0;
  int config_ = 0;
  std::string mode_;
};

std::string shape_string(const std::vector<std::size_t>& shape);

}  // namespace fz
