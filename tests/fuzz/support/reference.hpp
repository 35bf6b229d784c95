#pragma once

// The fuzzer's reference interpreter: every op loom offers, written again as plain loops over
// doubles, with no loom code in it. Each value is stored as its dtype holds it (an f32 result
// is rounded to float, an i32 one wraps), and each element carries a bound on how far a
// correct loom result may lie from the exact value:
//   0         the value is exact (integers, bools, views of exact values);
//   finite    rounding of every op on the way, propagated through later ops;
//   infinity  not determined: a comparison, cast or argmax of values within rounding of each
//             other. Such elements are left out of the comparison (and counted).
// The generator emits one call per node of a model, with the dtypes its rules give; this
// file only knows how each op computes.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

namespace fz::ref {

enum class dtype : unsigned char { boolean, i32, f32, f64, bf16, f16 };

const char* name(dtype t);
bool is_float(dtype t);
// bf16 and f16: loom computes with them in f32 and rounds each op's result once.
bool is_half(dtype t);

// A tensor of the reference: row-major values and their bounds.
struct tensor {
  dtype type = dtype::f32;
  std::vector<std::size_t> shape;
  std::vector<double> value, bound;
  std::size_t size() const { return value.size(); }
};

inline constexpr double unknown = std::numeric_limits<double>::infinity();

// Thrown where loom must throw loom::shape_error: max, min or argmax over an empty axis.
struct no_value : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The value `x` takes when stored as `t`: f32 rounds, bf16 and f16 round the f32 value
// (as loom, which computes in f32, does), i32 truncates toward zero with NaN giving 0 and
// saturation out of range (loom's cast rule), bool is x != 0.
double store(dtype t, double x);

// The branches the reference has taken within rounding of a kink since the last call: relu or
// abs of a value within its bound of 0, maximum or minimum of operands within their bounds of
// each other, a max or min whose winner is within bounds of another element. The value is
// determined there but its derivative is not (loom may see a tie and split the gradient,
// where the exact function has one winner), which the gradient check needs to know.
long take_near_kinks();
void note_near_kink();

// While on, store() keeps an f32 value's every digit: the function the model's ops define,
// without float rounding, which the gradient check differentiates by finite differences.
void set_exact_floats(bool on);

tensor constant(dtype t, double value);
tensor from_values(dtype t, std::vector<std::size_t> shape, std::vector<double> values);

// Element-wise functions: loom's ops, composites that are element-wise, and the fuzzer's
// opaque callables (tests/fuzz/support/callables.hpp), whose formulas they mirror.
enum class fn {
  neg,
  abs,
  square,
  relu,
  exp,
  log,
  sqrt,
  rsqrt,
  sin,
  cos,
  tanh,
  sigmoid,
  gelu,
  gelu_tanh,
  cast,
  add,
  sub,
  mul,
  div,
  pow,
  minimum,
  maximum,
  lt,
  le,
  gt,
  ge,
  eq,
  ne,
  softsign,
  affine,
  blend,
  widen,
  int_mix,
  twice
};

struct params {
  double a = 0, b = 0;
};

// f applied with NumPy broadcasting. Operands are converted to `compute` first (loom's
// promotion), except for the opaque callables, which see each operand in its own dtype.
tensor map(
    fn f, dtype result, dtype compute, const std::vector<const tensor*>& args, params p = {});
// where(c, a, b): c converted to bool, a and b to `result`.
tensor where(dtype result, const tensor& c, const tensor& a, const tensor& b);

enum class reduction { sum, mean, prod, max, min };
// Over the axes in `mask` (bit d: axis d), operands converted to `compute`.
tensor reduce(
    reduction kind, dtype result, dtype compute, const tensor& x, unsigned mask, bool keepdims);
// The first maximum along one axis (or of the row-major whole, mask = every axis); NaN is
// the largest value.
tensor argmax(const tensor& x, unsigned mask, bool keepdims);

// Views. A dims entry of `any` in reshape is inferred; in broadcast_to it keeps x's extent.
inline constexpr std::size_t any = std::size_t(-1);
tensor reshape(const tensor& x, const std::vector<std::size_t>& dims);
tensor permute(const tensor& x, const std::vector<std::size_t>& order);
tensor broadcast_to(const tensor& x, const std::vector<std::size_t>& dims);
tensor slice(const tensor& x, std::size_t axis, long begin, long end, long step);

// [.., M, K] x [.., K, N] in `type` (f32 or f64); a rank-2 operand serves every batch.
tensor matmul(dtype type, const tensor& a, const tensor& b);

// Composites as the guide defines them, over the axes in `mask`.
tensor softmax(const tensor& x, unsigned mask);
tensor log_softmax(const tensor& x, unsigned mask);
tensor logsumexp(const tensor& x, unsigned mask, bool keepdims);
// (x - mean) / sqrt(var + eps) over the last axis, with the biased variance.
tensor layer_norm(const tensor& x, double eps);

// The fuzzer's whole-tensor callable: x reversed along its last axis.
tensor reverse_last(const tensor& x);

}  // namespace fz::ref
