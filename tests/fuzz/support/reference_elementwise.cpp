#include <algorithm>
#include <cmath>

#include "reference_common.hpp"

// Element-wise ops. How the bounds are found (see reference.hpp for what they mean):
//  - an element-wise op evaluates its function at the corners of its operands' bound boxes:
//    the largest change from the centre is the propagated error, and a corner whose result
//    is of another class (NaN, +inf, -inf, finite; or another integer or bool) makes the
//    element undetermined. To that it adds its own rounding, in ulps of the result;
//  - sums and products add the operands' bounds and a rounding term that grows with the
//    number and the magnitudes of their terms (loom folds in blocks, in any order);
//  - composites use the first-order error of their formula.
namespace fz::ref {

using namespace detail;

namespace {

bool is_opaque(fn f) {
  return f >= fn::softsign;
}

bool is_periodic(fn f) {
  return f == fn::sin || f == fn::cos;
}

// The exact function, in double; i32 operands compute with wrap-around.
double apply(fn f, dtype compute, const double* x, const params& p) {
  const bool integer = compute == dtype::i32 || compute == dtype::boolean;
  switch (f) {
    case fn::neg:
      return integer ? wrap(-x[0]) : -x[0];
    case fn::abs:
      return integer ? (x[0] < 0 ? wrap(-x[0]) : x[0]) : std::fabs(x[0]);
    case fn::square:
      return integer ? wrap_mul(x[0], x[0]) : x[0] * x[0];
    case fn::relu:
      return x[0] < 0 ? 0.0 : x[0];
    case fn::exp:
      return std::exp(x[0]);
    case fn::log:
      return std::log(x[0]);
    case fn::sqrt:
      return std::sqrt(x[0]);
    case fn::rsqrt:
      return 1.0 / std::sqrt(x[0]);
    case fn::sin:
      return std::sin(x[0]);
    case fn::cos:
      return std::cos(x[0]);
    case fn::tanh:
      return std::tanh(x[0]);
    case fn::sigmoid:
      return 1.0 / (1.0 + std::exp(-x[0]));
    case fn::gelu:
      return 0.5 * x[0] * (1.0 + std::erf(x[0] * 0.70710678118654752440));
    case fn::gelu_tanh: {
      const double v = x[0];
      return 0.5 * v * (1.0 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
    }
    case fn::cast:
      return x[0];
    case fn::add:
      return integer ? wrap(x[0] + x[1]) : x[0] + x[1];
    case fn::sub:
      return integer ? wrap(x[0] - x[1]) : x[0] - x[1];
    case fn::mul:
      return integer ? wrap_mul(x[0], x[1]) : x[0] * x[1];
    case fn::div:
      return x[0] / x[1];
    case fn::pow:
      return std::pow(x[0], x[1]);
    case fn::minimum:
      return std::isnan(x[0]) || std::isnan(x[1]) ? std::nan("") : std::min(x[0], x[1]);
    case fn::maximum:
      return std::isnan(x[0]) || std::isnan(x[1]) ? std::nan("") : std::max(x[0], x[1]);
    case fn::lt:
      return x[0] < x[1];
    case fn::le:
      return x[0] <= x[1];
    case fn::gt:
      return x[0] > x[1];
    case fn::ge:
      return x[0] >= x[1];
    case fn::eq:
      return x[0] == x[1];
    case fn::ne:
      return x[0] != x[1];
    case fn::softsign:
      return x[0] / (1.0 + std::fabs(x[0]));
    case fn::affine:
      return x[0] * p.a + p.b;
    case fn::blend:
      return x[0] * 0.75 + x[1] * 0.25;
    case fn::widen:
      return x[0] * 1.5 + 0.25;
    case fn::int_mix:
      return wrap(wrap_mul(x[0], 7) + 3);
    case fn::twice:
      return integer ? wrap(2 * x[0]) : 2 * x[0];
  }
  return std::nan("");
}

// Rounding of the op itself, in units of eps * |result|: correctly rounded arithmetic 0.5;
// loom's division by a row value multiplies by its inverse (1.5 ulp); its f32 exp is within
// 1.26 ulp; Eigen's vectorised transcendental functions within a few.
double ulps(fn f) {
  switch (f) {
    case fn::neg:
    case fn::abs:
    case fn::relu:
    case fn::minimum:
    case fn::maximum:
    case fn::lt:
    case fn::le:
    case fn::gt:
    case fn::ge:
    case fn::eq:
    case fn::ne:
      return 0;
    case fn::add:
    case fn::sub:
    case fn::mul:
    case fn::square:
    case fn::cast:
    case fn::twice:
      return 0.5;
    case fn::sqrt:
    case fn::affine:
    case fn::widen:
      return 1;
    case fn::div:
    case fn::rsqrt:
    case fn::exp:
    case fn::log:
    case fn::pow:
    case fn::softsign:
    case fn::blend:
      return 2;
    case fn::sin:
    case fn::cos:
    case fn::tanh:
    case fn::sigmoid:
    case fn::gelu:
      return 4;
    case fn::gelu_tanh:
      return 8;
    default:
      return 0;
  }
}

double rounding(fn f, dtype result, const double* x, const params& p, double r) {
  if (!is_float(result) || !std::isfinite(r)) return 0;
  const double k = ulps(f);
  if (k == 0) return 0;
  double term = k * eps(result) * std::fabs(r) + k * smallest_subnormal(result);
  // affine rounds x * scale before it adds the shift (unless the compiler fuses them), which
  // may cancel: the product's rounding is absolute.
  if (f == fn::affine) term += 0.5 * std::fabs(x[0] * p.a) * eps(result);
  // GELU's 1 + erf(...) (or 1 + tanh(...)) cancels for negative x: the error of erf near -1
  // is absolute, and the result carries it times x / 2.
  if (f == fn::gelu || f == fn::gelu_tanh) term += 0.5 * std::fabs(x[0]) * k * eps(result);
  // Transcendental results below the normal range may be flushed (sigmoid's 1 / (1 + inf)).
  if (f >= fn::exp && f <= fn::gelu_tanh && std::fabs(r) < smallest_normal(result))
    term += smallest_normal(result);
  return term;
}

int value_class(dtype t, double v) {
  if (std::isnan(v)) return 0;
  if (std::isinf(v)) return v > 0 ? 1 : 2;
  return is_float(t) ? 3 : 4;
}

double convert(dtype to, double x) {
  return store(to, x);
}

struct element {
  double value, bound;
};

// Whether two operands' intervals meet: they may be equal at a point inside them.
bool intervals_meet(const double* x, const double* b) {
  return std::fabs(x[0] - x[1]) <= b[0] + b[1];
}

// Whether an op's result may change its class (or the sign of an infinity) inside its operands'
// intervals at a point their corners miss. A division by an interval around 0 is infinite
// there. pow(1, y) is 1 even for a NaN or infinite y, pow(x, 0) is 1 even for a NaN x, a
// negative base gives a finite result only at integer exponents, with the sign of their
// parity, and a base around 0 to a negative power is infinite there (model 13416: the base
// was x1 * gelu(x0) with gelu's absolute error, the exponent -3). Two operands whose
// intervals overlap may be equal at a point inside them, where == and != change and no
// corner is (model 15632: sigmoid(16.66) == 1, which loom's f32 rounds to 1, 1 ulp off).
bool class_may_change_inside(fn f, const double* x, const double* b) {
  if (f == fn::div) return std::fabs(x[1]) <= b[1];
  if (f == fn::eq || f == fn::ne) return intervals_meet(x, b);
  if (f != fn::pow) return false;
  const bool holds_one = b[0] > 0 && std::fabs(x[0] - 1) <= b[0];
  const bool holds_zero = b[1] > 0 && std::fabs(x[1]) <= b[1];
  const bool holds_integer = b[1] > 0 && std::floor(x[1] + b[1]) >= std::ceil(x[1] - b[1]);
  const bool negative_base = std::signbit(x[0]) || x[0] - b[0] < 0;
  const bool pole = std::fabs(x[0]) <= b[0] && x[1] - b[1] < 0;
  return (holds_one && !std::isfinite(x[1])) || (holds_zero && std::isnan(x[0])) ||
         (negative_base && holds_integer) || pole;
}

// Whether the op's branch (which operand wins, which side of 0) may change within the bounds.
bool near_kink(fn f, const double* x, const double* b) {
  switch (f) {
    case fn::relu:
    case fn::abs:
      return std::fabs(x[0]) <= b[0];
    case fn::minimum:
    case fn::maximum:
      return intervals_meet(x, b);
    default:
      return false;
  }
}

// One element of an element-wise op from its operands' values and bounds.
element evaluate(fn f,
                 dtype result,
                 const dtype* compute,
                 std::size_t n,
                 const double* v,
                 const double* b,
                 const params& p) {
  double x[4];
  for (std::size_t i = 0; i < n; ++i) x[i] = convert(compute[i], v[i]);
  const dtype op_type = compute[0];
  if (near_kink(f, x, b)) note_near_kink();
  const double centre = store(result, apply(f, op_type, x, p));
  bool exact = true;
  for (std::size_t i = 0; i < n; ++i) {
    if (b[i] == unknown) return {centre, unknown};
    exact = exact && b[i] == 0;
  }
  const double own = rounding(f, result, x, p, centre);
  if (exact) return {centre, own};
  if (class_may_change_inside(f, x, b)) return {centre, unknown};
  if (is_periodic(f))
    for (std::size_t i = 0; i < n; ++i)
      if (b[i] > 0.5) return {centre, unknown};
  double worst = 0;
  for (unsigned corner = 0; corner < (1u << n); ++corner) {
    double y[4];
    bool skip = false;
    for (std::size_t i = 0; i < n; ++i) {
      const bool up = (corner >> i) & 1u;
      if (b[i] == 0 && up) skip = true;
      y[i] = b[i] == 0 ? x[i] : (up ? x[i] + b[i] : x[i] - b[i]);
    }
    if (skip) continue;
    const double c = store(result, apply(f, op_type, y, p));
    if (value_class(result, c) != value_class(result, centre)) return {centre, unknown};
    if (!is_float(result) && c != centre) return {centre, unknown};
    if (std::isfinite(c)) worst = std::max(worst, std::fabs(c - centre));
  }
  return {centre, worst + own};
}

// NumPy broadcasting of the operands' shapes; a generator error if they do not broadcast.
std::vector<std::size_t> broadcast_shape(const std::vector<const tensor*>& args) {
  std::size_t rank = 0;
  for (const tensor* a : args) rank = std::max(rank, a->shape.size());
  std::vector<std::size_t> r(rank, 1);
  for (const tensor* a : args) {
    const std::size_t lead = rank - a->shape.size();
    for (std::size_t d = 0; d < a->shape.size(); ++d) {
      const std::size_t e = a->shape[d];
      std::size_t& out = r[lead + d];
      if (e == out || e == 1) continue;
      if (out != 1) throw std::logic_error("reference: operands do not broadcast");
      out = e;
    }
  }
  return r;
}

// Flat index into `a` of each element of a broadcast result of shape `shape`.
std::vector<std::size_t> broadcast_index(const tensor& a, const std::vector<std::size_t>& shape) {
  const std::size_t rank = shape.size(), lead = rank - a.shape.size();
  const auto own = strides_of(a.shape);
  std::vector<std::size_t> stride(rank, 0);
  for (std::size_t d = 0; d < a.shape.size(); ++d) stride[lead + d] = a.shape[d] == 1 ? 0 : own[d];
  std::vector<std::size_t> index(count(shape)), at(rank, 0);
  for (std::size_t i = 0; i < index.size(); ++i) {
    std::size_t flat = 0;
    for (std::size_t d = 0; d < rank; ++d) flat += at[d] * stride[d];
    index[i] = flat;
    for (std::size_t d = rank; d-- > 0;) {
      if (++at[d] < shape[d]) break;
      at[d] = 0;
    }
  }
  return index;
}

}  // namespace

const char* name(dtype t) {
  switch (t) {
    case dtype::boolean:
      return "bool";
    case dtype::i32:
      return "i32";
    case dtype::f32:
      return "f32";
    case dtype::f64:
      return "f64";
    case dtype::bf16:
      return "bf16";
    case dtype::f16:
      return "f16";
  }
  return "?";
}

bool is_float(dtype t) {
  return t == dtype::f32 || t == dtype::f64 || is_half(t);
}

bool is_half(dtype t) {
  return t == dtype::bf16 || t == dtype::f16;
}

namespace {
bool exact_floats = false;
long near_kinks = 0;
}  // namespace

void set_exact_floats(bool on) {
  exact_floats = on;
}

void note_near_kink() {
  ++near_kinks;
}

long take_near_kinks() {
  const long n = near_kinks;
  near_kinks = 0;
  return n;
}

namespace {
// x rounded to a format of fewer digits than float's: to nearest, ties to even, with its
// subnormals, and to infinity past the largest value and half its spacing.
double round_to(const format& f, double x) {
  if (!std::isfinite(x) || x == 0) return x;
  const int exponent = std::max(std::ilogb(x), f.min_exponent);
  const double spacing = std::ldexp(1.0, exponent + 1 - f.digits);
  const double r = std::nearbyint(x / spacing) * spacing;
  return std::fabs(r) > f.largest ? std::copysign(std::numeric_limits<double>::infinity(), x) : r;
}
}  // namespace

double store(dtype t, double x) {
  switch (t) {
    case dtype::f64:
      return x;
    case dtype::f32:
      return exact_floats ? x : double(float(x));
    case dtype::bf16:
    case dtype::f16:
      return exact_floats ? x : round_to(format_of(t), double(float(x)));
    case dtype::boolean:
      return x != 0 ? 1.0 : 0.0;  // NaN != 0
    case dtype::i32:
      if (std::isnan(x)) return 0;
      if (x <= -2147483648.0) return -2147483648.0;
      if (x >= 2147483647.0) return 2147483647.0;
      return std::trunc(x) + 0.0;  // an integer has no -0: trunc(-0.5) is -0
  }
  return x;
}

tensor constant(dtype t, double value) {
  tensor r = make(t, {});
  r.value[0] = store(t, value);
  return r;
}

tensor from_values(dtype t, std::vector<std::size_t> shape, std::vector<double> values) {
  tensor r = make(t, std::move(shape));
  if (values.size() != r.size()) throw std::logic_error("reference: wrong number of values");
  for (std::size_t i = 0; i < values.size(); ++i) r.value[i] = store(t, values[i]);
  return r;
}

tensor map(fn f, dtype result, dtype compute, const std::vector<const tensor*>& args, params p) {
  tensor r = make(result, broadcast_shape(args));
  const std::size_t n = args.size();
  std::vector<std::vector<std::size_t>> index;
  dtype types[4];
  for (std::size_t k = 0; k < n; ++k) {
    index.push_back(broadcast_index(*args[k], r.shape));
    types[k] = is_opaque(f) ? args[k]->type : compute;
  }
  for (std::size_t i = 0; i < r.size(); ++i) {
    double v[4], b[4];
    for (std::size_t k = 0; k < n; ++k) {
      v[k] = args[k]->value[index[k][i]];
      b[k] = args[k]->bound[index[k][i]];
    }
    const element e = evaluate(f, result, types, n, v, b, p);
    r.value[i] = e.value;
    r.bound[i] = e.bound;
  }
  return r;
}

tensor where(dtype result, const tensor& c, const tensor& a, const tensor& b) {
  tensor r = make(result, broadcast_shape({&c, &a, &b}));
  const auto ic = broadcast_index(c, r.shape), ia = broadcast_index(a, r.shape),
             ib = broadcast_index(b, r.shape);
  for (std::size_t i = 0; i < r.size(); ++i) {
    const double cv = c.value[ic[i]], cb = c.bound[ic[i]];
    bool known = cb == 0;
    if (!known && cb != unknown && is_float(c.type))
      known = !std::isnan(cv) && (cv - cb > 0 || cv + cb < 0);  // the sign cannot change
    const bool take_a = store(dtype::boolean, cv) != 0;
    const tensor& src = take_a ? a : b;
    const std::size_t at = take_a ? ia[i] : ib[i];
    r.value[i] = store(result, src.value[at]);
    r.bound[i] = known ? src.bound[at] : unknown;
  }
  return r;
}

}  // namespace fz::ref
