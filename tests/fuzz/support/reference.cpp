#include "reference.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

// How the bounds are found (see reference.hpp for what they mean):
//  - an element-wise op evaluates its function at the corners of its operands' bound boxes:
//    the largest change from the centre is the propagated error, and a corner whose result
//    is of another class (NaN, +inf, -inf, finite; or another integer or bool) makes the
//    element undetermined. To that it adds its own rounding, in ulps of the result;
//  - sums and products add the operands' bounds and a rounding term that grows with the
//    number and the magnitudes of their terms (loom folds in blocks, in any order);
//  - composites use the first-order error of their formula.
namespace fz::ref {

namespace {

double eps(dtype t) {
  return t == dtype::f32 ? 0x1p-23 : t == dtype::f64 ? 0x1p-52 : 0.0;
}
double largest(dtype t) {
  return t == dtype::f32 ? double(std::numeric_limits<float>::max())
                         : std::numeric_limits<double>::max();
}
double smallest_normal(dtype t) {
  return t == dtype::f32 ? double(std::numeric_limits<float>::min())
                         : std::numeric_limits<double>::min();
}
double smallest_subnormal(dtype t) {
  return t == dtype::f32 ? double(std::numeric_limits<float>::denorm_min())
                         : std::numeric_limits<double>::denorm_min();
}

// i32 arithmetic wraps modulo 2^32.
double wrap(double x) {
  const auto u = static_cast<std::uint32_t>(static_cast<std::int64_t>(x));
  return static_cast<double>(static_cast<std::int32_t>(u));
}
double wrap_mul(double a, double b) {
  const auto ua = static_cast<std::uint32_t>(static_cast<std::int32_t>(a));
  const auto ub = static_cast<std::uint32_t>(static_cast<std::int32_t>(b));
  return static_cast<double>(static_cast<std::int32_t>(ua * ub));
}

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
    case fn::neg: return integer ? wrap(-x[0]) : -x[0];
    case fn::abs: return integer ? (x[0] < 0 ? wrap(-x[0]) : x[0]) : std::fabs(x[0]);
    case fn::square: return integer ? wrap_mul(x[0], x[0]) : x[0] * x[0];
    case fn::relu: return x[0] < 0 ? 0.0 : x[0];
    case fn::exp: return std::exp(x[0]);
    case fn::log: return std::log(x[0]);
    case fn::sqrt: return std::sqrt(x[0]);
    case fn::rsqrt: return 1.0 / std::sqrt(x[0]);
    case fn::sin: return std::sin(x[0]);
    case fn::cos: return std::cos(x[0]);
    case fn::tanh: return std::tanh(x[0]);
    case fn::sigmoid: return 1.0 / (1.0 + std::exp(-x[0]));
    case fn::gelu: return 0.5 * x[0] * (1.0 + std::erf(x[0] * 0.70710678118654752440));
    case fn::gelu_tanh: {
      const double v = x[0];
      return 0.5 * v * (1.0 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
    }
    case fn::cast: return x[0];
    case fn::add: return integer ? wrap(x[0] + x[1]) : x[0] + x[1];
    case fn::sub: return integer ? wrap(x[0] - x[1]) : x[0] - x[1];
    case fn::mul: return integer ? wrap_mul(x[0], x[1]) : x[0] * x[1];
    case fn::div: return x[0] / x[1];
    case fn::pow: return std::pow(x[0], x[1]);
    case fn::minimum:
      return std::isnan(x[0]) || std::isnan(x[1]) ? std::nan("") : std::min(x[0], x[1]);
    case fn::maximum:
      return std::isnan(x[0]) || std::isnan(x[1]) ? std::nan("") : std::max(x[0], x[1]);
    case fn::lt: return x[0] < x[1];
    case fn::le: return x[0] <= x[1];
    case fn::gt: return x[0] > x[1];
    case fn::ge: return x[0] >= x[1];
    case fn::eq: return x[0] == x[1];
    case fn::ne: return x[0] != x[1];
    case fn::softsign: return x[0] / (1.0 + std::fabs(x[0]));
    case fn::affine: return x[0] * p.a + p.b;
    case fn::blend: return x[0] * 0.75 + x[1] * 0.25;
    case fn::widen: return x[0] * 1.5 + 0.25;
    case fn::int_mix: return wrap(wrap_mul(x[0], 7) + 3);
    case fn::twice: return integer ? wrap(2 * x[0]) : 2 * x[0];
  }
  return std::nan("");
}

// Rounding of the op itself, in units of eps * |result|: correctly rounded arithmetic 0.5;
// loom's division by a row value multiplies by its inverse (1.5 ulp); its f32 exp is within
// 1.2 ulp; Eigen's vectorised transcendental functions within a few.
double ulps(fn f) {
  switch (f) {
    case fn::neg: case fn::abs: case fn::relu: case fn::minimum: case fn::maximum:
    case fn::lt: case fn::le: case fn::gt: case fn::ge: case fn::eq: case fn::ne:
      return 0;
    case fn::add: case fn::sub: case fn::mul: case fn::square: case fn::cast: case fn::twice:
      return 0.5;
    case fn::sqrt: case fn::affine: case fn::widen: return 1;
    case fn::div: case fn::rsqrt: case fn::exp: case fn::log: case fn::pow: case fn::softsign:
    case fn::blend:
      return 2;
    case fn::sin: case fn::cos: case fn::tanh: case fn::sigmoid: case fn::gelu: return 4;
    case fn::gelu_tanh: return 8;
    default: return 0;
  }
}

double rounding(fn f, dtype result, const double* x, double r) {
  if (!is_float(result) || !std::isfinite(r)) return 0;
  const double k = ulps(f);
  if (k == 0) return 0;
  double term = k * eps(result) * std::fabs(r) + k * smallest_subnormal(result);
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

// One element of an element-wise op from its operands' values and bounds.
element evaluate(fn f, dtype result, const dtype* compute, std::size_t n, const double* v,
                 const double* b, const params& p) {
  double x[4];
  for (std::size_t i = 0; i < n; ++i) x[i] = convert(compute[i], v[i]);
  const dtype op_type = compute[0];
  const double centre = store(result, apply(f, op_type, x, p));
  bool exact = true;
  for (std::size_t i = 0; i < n; ++i) {
    if (b[i] == unknown) return {centre, unknown};
    exact = exact && b[i] == 0;
  }
  const double own = rounding(f, result, x, centre);
  if (exact) return {centre, own};
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

std::size_t count(const std::vector<std::size_t>& shape) {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  return n;
}

std::vector<std::size_t> strides_of(const std::vector<std::size_t>& shape) {
  std::vector<std::size_t> s(shape.size(), 1);
  for (std::size_t d = shape.size(); d-- > 1;) s[d - 1] = s[d] * shape[d];
  return s;
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
  for (std::size_t d = 0; d < a.shape.size(); ++d)
    stride[lead + d] = a.shape[d] == 1 ? 0 : own[d];
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

tensor make(dtype t, std::vector<std::size_t> shape) {
  tensor r;
  r.type = t;
  r.shape = std::move(shape);
  r.value.assign(count(r.shape), 0.0);
  r.bound.assign(r.value.size(), 0.0);
  return r;
}

// The elements of x grouped by the axes outside `mask`: one group per element of the
// reduced result, each listing the flat indices it folds, in row-major order.
struct groups {
  std::vector<std::size_t> result_shape;  // with keepdims
  std::vector<std::vector<std::size_t>> members;
};

groups group_by(const std::vector<std::size_t>& shape, unsigned mask) {
  groups g;
  for (std::size_t d = 0; d < shape.size(); ++d)
    g.result_shape.push_back((mask >> d) & 1u ? 1 : shape[d]);
  const auto out_strides = strides_of(g.result_shape);
  g.members.resize(count(g.result_shape));
  std::vector<std::size_t> at(shape.size(), 0);
  const std::size_t n = count(shape);
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t out = 0;
    for (std::size_t d = 0; d < shape.size(); ++d)
      if (!((mask >> d) & 1u)) out += at[d] * out_strides[d];
    g.members[out].push_back(i);
    for (std::size_t d = shape.size(); d-- > 0;) {
      if (++at[d] < shape[d]) break;
      at[d] = 0;
    }
  }
  return g;
}

std::vector<std::size_t> drop_axes(const std::vector<std::size_t>& kept_shape, unsigned mask) {
  std::vector<std::size_t> r;
  for (std::size_t d = 0; d < kept_shape.size(); ++d)
    if (!((mask >> d) & 1u)) r.push_back(kept_shape[d]);
  return r;
}

// Rounding of a sum of n terms whose magnitudes add to `magnitude`: loom adds in blocks
// and vector lanes, so the error grows about as sqrt(n), not n.
double sum_rounding(dtype t, std::size_t n, double magnitude) {
  return (2.0 + 2.0 * std::sqrt(double(n))) * eps(t) * magnitude + n * smallest_subnormal(t);
}

struct folded {
  double value, bound;
};

// Sum of the elements at `at` (values converted to `t`), with its bound.
folded sum_of(dtype t, const tensor& x, const std::vector<std::size_t>& at) {
  if (!is_float(t)) {
    double s = 0;
    for (std::size_t i : at) {
      if (x.bound[i] == unknown) return {0, unknown};
      s = wrap(s + convert(t, x.value[i]));
    }
    return {s, 0};
  }
  double s = 0, magnitude = 0, bound = 0;
  bool nan = false, uncertain = false;
  for (std::size_t i : at) {
    const double v = convert(t, x.value[i]);
    if (x.bound[i] == unknown) uncertain = true;
    if (std::isnan(v)) nan = true;
    s += v;
    if (std::isfinite(v)) magnitude += std::fabs(v);
    bound += x.bound[i];
  }
  if (nan) return {std::nan(""), 0};
  if (uncertain) return {store(t, s), unknown};
  // Partial sums of finite terms may overflow in one order and not in another.
  if (magnitude >= largest(t) / 4) return {store(t, s), unknown};
  if (!std::isfinite(s)) return {s, 0};
  return {s, bound + sum_rounding(t, at.size(), magnitude)};
}

folded prod_of(dtype t, const tensor& x, const std::vector<std::size_t>& at) {
  if (!is_float(t)) {
    double p = 1;
    for (std::size_t i : at) {
      if (x.bound[i] == unknown) return {0, unknown};
      p = wrap_mul(p, convert(t, x.value[i]));
    }
    return {p, 0};
  }
  double p = 1, big = 1, small = 1;
  bool uncertain = false;
  for (std::size_t i : at) {
    const double v = convert(t, x.value[i]);
    if (x.bound[i] == unknown) uncertain = true;
    p *= v;
    const double m = std::fabs(v);
    if (m > 1) big *= m;
    if (m > 0 && m < 1) small *= m;
  }
  if (std::isnan(p)) return {p, 0};
  // Partial products may overflow, or underflow and lose precision, in some order.
  if (uncertain || big >= largest(t) / 4 || (small < smallest_normal(t) * 16 && big > 1))
    return {store(t, p), unknown};
  if (!std::isfinite(p)) return {p, 0};
  // The error each operand's bound causes: its bound times the other factors.
  const std::size_t n = at.size();
  std::vector<double> before(n + 1, 1.0), after(n + 1, 1.0);
  for (std::size_t k = 0; k < n; ++k) before[k + 1] = before[k] * std::fabs(convert(t, x.value[at[k]]));
  for (std::size_t k = n; k-- > 0;) after[k] = after[k + 1] * std::fabs(convert(t, x.value[at[k]]));
  double bound = 0;
  for (std::size_t k = 0; k < n; ++k) bound += x.bound[at[k]] * before[k] * after[k + 1];
  return {p, bound + (n + 1) * eps(t) * std::fabs(p) + n * smallest_subnormal(t)};
}

folded extreme_of(bool is_max, dtype t, const tensor& x, const std::vector<std::size_t>& at) {
  double m = is_max ? -unknown : unknown, bound = 0;
  for (std::size_t i : at) {
    const double v = convert(t, x.value[i]);
    if (x.bound[i] == unknown) return {v, unknown};
    if (std::isnan(v)) return {v, 0};
    m = is_max ? std::max(m, v) : std::min(m, v);
    bound = std::max(bound, x.bound[i]);
  }
  return {m, bound};
}

// The largest finite-or-infinite value of a row with infinities replaced by 0, as loom's
// composites shift rows (a NaN stays).
double finite_max(const tensor& x, const std::vector<std::size_t>& at) {
  double m = -unknown;
  for (std::size_t i : at) {
    if (std::isnan(x.value[i])) return x.value[i];
    m = std::max(m, x.value[i]);
  }
  return std::isinf(m) ? 0.0 : m;
}

bool any_unknown(const tensor& x, const std::vector<std::size_t>& at) {
  for (std::size_t i : at)
    if (x.bound[i] == unknown) return true;
  return false;
}

double row_bound(const tensor& x, const std::vector<std::size_t>& at) {
  double b = 0;
  for (std::size_t i : at) b = std::max(b, x.bound[i]);
  return b;
}

// A row's log(sum(exp(x - shift))) and the weighted spread that its rounding depends on.
struct row_sums {
  double shift, log_sum, spread;
};

row_sums row_log_sum(const tensor& x, const std::vector<std::size_t>& at) {
  row_sums r{finite_max(x, at), 0, 0};
  double sum = 0, weighted = 0;
  for (std::size_t i : at) {
    const double e = std::exp(x.value[i] - r.shift);
    sum += e;
    if (std::isfinite(e)) weighted += e * std::fabs(x.value[i] - r.shift);
  }
  r.log_sum = std::log(sum);
  r.spread = sum > 0 && std::isfinite(sum) ? weighted / sum : 0;
  return r;
}

}  // namespace

const char* name(dtype t) {
  switch (t) {
    case dtype::boolean: return "bool";
    case dtype::i32: return "i32";
    case dtype::f32: return "f32";
    case dtype::f64: return "f64";
  }
  return "?";
}

bool is_float(dtype t) {
  return t == dtype::f32 || t == dtype::f64;
}

double store(dtype t, double x) {
  switch (t) {
    case dtype::f64: return x;
    case dtype::f32: return double(float(x));
    case dtype::boolean: return x != 0 ? 1.0 : 0.0;  // NaN != 0
    case dtype::i32:
      if (std::isnan(x)) return 0;
      if (x <= -2147483648.0) return -2147483648.0;
      if (x >= 2147483647.0) return 2147483647.0;
      return std::trunc(x);
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

tensor reduce(reduction kind, dtype result, dtype compute, const tensor& x, unsigned mask,
              bool keepdims) {
  const groups g = group_by(x.shape, mask);
  tensor r = make(result, keepdims ? g.result_shape : drop_axes(g.result_shape, mask));
  for (std::size_t k = 0; k < g.members.size(); ++k) {
    const auto& at = g.members[k];
    folded f{0, 0};
    switch (kind) {
      case reduction::sum: f = sum_of(compute, x, at); break;
      case reduction::mean:
        if (at.empty()) {  // 0 / 0
          f = {std::nan(""), 0};
          break;
        }
        f = sum_of(compute, x, at);
        f.value = f.value / double(at.size());
        f.bound = f.bound / double(at.size()) + 0.5 * eps(compute) * std::fabs(f.value);
        break;
      case reduction::prod: f = prod_of(compute, x, at); break;
      case reduction::max:
      case reduction::min:
        if (at.empty()) throw no_value("max or min over an empty axis");
        f = extreme_of(kind == reduction::max, compute, x, at);
        break;
    }
    r.value[k] = store(result, f.value);
    r.bound[k] = f.bound;
  }
  return r;
}

tensor argmax(const tensor& x, unsigned mask, bool keepdims) {
  const groups g = group_by(x.shape, mask);
  tensor r = make(dtype::i32, keepdims ? g.result_shape : drop_axes(g.result_shape, mask));
  for (std::size_t k = 0; k < g.members.size(); ++k) {
    const auto& at = g.members[k];
    if (at.empty()) throw no_value("argmax over an empty axis");
    std::size_t best = 0;
    bool nan = false;
    for (std::size_t j = 0; j < at.size() && !nan; ++j) {
      const double v = x.value[at[j]];
      if (std::isnan(v)) {
        best = j;
        nan = true;
      } else if (v > x.value[at[best]]) {
        best = j;
      }
    }
    // Undetermined where another element is within rounding of the winner.
    bool known = !any_unknown(x, at);
    if (known && !nan) {
      const double top = x.value[at[best]], top_bound = x.bound[at[best]];
      for (std::size_t j = 0; j < at.size(); ++j)
        if (j != best && x.bound[at[j]] + top_bound > 0 &&
            x.value[at[j]] + x.bound[at[j]] >= top - top_bound)
          known = false;
    }
    // The members of a group are in row-major order: along the one axis, or over everything.
    r.value[k] = double(best);
    r.bound[k] = known ? 0 : unknown;
  }
  return r;
}

tensor reshape(const tensor& x, const std::vector<std::size_t>& dims) {
  std::vector<std::size_t> shape = dims;
  std::size_t known = 1, inferred = dims.size();
  for (std::size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] == any)
      inferred = d;
    else
      known *= dims[d];
  }
  if (inferred < dims.size()) shape[inferred] = known == 0 ? 0 : x.size() / known;
  if (count(shape) != x.size()) throw std::logic_error("reference: reshape changes the size");
  tensor r = x;
  r.shape = shape;
  return r;
}

namespace {
// Gathers x's elements through a strided layout of the result's shape.
tensor gather(const tensor& x, const std::vector<std::size_t>& shape,
              const std::vector<long>& stride, long offset) {
  tensor r = make(x.type, shape);
  std::vector<std::size_t> at(shape.size(), 0);
  for (std::size_t i = 0; i < r.size(); ++i) {
    long flat = offset;
    for (std::size_t d = 0; d < shape.size(); ++d) flat += long(at[d]) * stride[d];
    r.value[i] = x.value[std::size_t(flat)];
    r.bound[i] = x.bound[std::size_t(flat)];
    for (std::size_t d = shape.size(); d-- > 0;) {
      if (++at[d] < shape[d]) break;
      at[d] = 0;
    }
  }
  return r;
}
}  // namespace

tensor permute(const tensor& x, const std::vector<std::size_t>& order) {
  const auto own = strides_of(x.shape);
  std::vector<std::size_t> shape;
  std::vector<long> stride;
  for (std::size_t d : order) {
    shape.push_back(x.shape[d]);
    stride.push_back(long(own[d]));
  }
  return gather(x, shape, stride, 0);
}

tensor broadcast_to(const tensor& x, const std::vector<std::size_t>& dims) {
  const std::size_t lead = dims.size() - x.shape.size();
  const auto own = strides_of(x.shape);
  std::vector<std::size_t> shape(dims.size());
  std::vector<long> stride(dims.size(), 0);
  for (std::size_t d = 0; d < dims.size(); ++d) {
    const std::size_t from = d < lead ? 1 : x.shape[d - lead];
    shape[d] = dims[d] == any ? from : dims[d];
    if (from != shape[d] && from != 1) throw std::logic_error("reference: bad broadcast_to");
    if (d >= lead && from == shape[d]) stride[d] = long(own[d - lead]);
  }
  return gather(x, shape, stride, 0);
}

tensor slice(const tensor& x, std::size_t axis, long begin, long end, long step) {
  const long n = long(x.shape[axis]);
  auto clamp = [n](long i) {
    if (i < 0) i += n;
    return i < 0 ? 0 : i > n ? n : i;
  };
  const long b = clamp(begin), e = clamp(end);
  const std::size_t len = e > b ? std::size_t((e - b + step - 1) / step) : 0;
  const auto own = strides_of(x.shape);
  std::vector<std::size_t> shape = x.shape;
  std::vector<long> stride(own.begin(), own.end());
  shape[axis] = len;
  stride[axis] *= step;
  return gather(x, shape, stride, b * long(own[axis]));
}

tensor matmul(dtype type, const tensor& a, const tensor& b) {
  const std::size_t ra = a.shape.size(), rb = b.shape.size();
  const std::size_t m = a.shape[ra - 2], k = a.shape[ra - 1], n = b.shape[rb - 1];
  if (b.shape[rb - 2] != k) throw std::logic_error("reference: matmul shapes");
  const std::size_t ba = ra == 3 ? a.shape[0] : 1, bb = rb == 3 ? b.shape[0] : 1;
  const std::size_t batch = ba == 1 ? bb : ba;
  std::vector<std::size_t> shape{m, n};
  if (ra == 3 || rb == 3) shape.insert(shape.begin(), batch);
  tensor r = make(type, shape);
  for (std::size_t p = 0; p < batch; ++p) {
    const std::size_t oa = (ba == 1 ? 0 : p) * m * k, ob = (bb == 1 ? 0 : p) * k * n;
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        double s = 0, magnitude = 0, bound = 0;
        bool uncertain = false;
        for (std::size_t q = 0; q < k; ++q) {
          const std::size_t ia = oa + i * k + q, ib = ob + q * n + j;
          const double x = a.value[ia], y = b.value[ib], ex = a.bound[ia], ey = b.bound[ib];
          if (ex == unknown || ey == unknown) uncertain = true;
          s += x * y;
          if (std::isfinite(x * y)) magnitude += std::fabs(x * y);
          bound += std::fabs(x) * ey + std::fabs(y) * ex + ex * ey;
        }
        const std::size_t at = (p * m + i) * n + j;
        r.value[at] = store(type, s);
        if (std::isnan(s))
          r.bound[at] = 0;
        else if (uncertain || magnitude >= largest(type) / 4)
          r.bound[at] = unknown;
        else if (!std::isfinite(s))
          r.bound[at] = 0;
        else
          r.bound[at] = bound + sum_rounding(type, k, magnitude) + 0.5 * eps(type) * std::fabs(s);
      }
  }
  return r;
}

tensor softmax(const tensor& x, unsigned mask) {
  tensor r = make(x.type, x.shape);
  const groups g = group_by(x.shape, mask);
  const double u = eps(x.type);
  for (const auto& at : g.members) {
    if (at.empty()) continue;
    const row_sums s = row_log_sum(x, at);
    const bool uncertain = any_unknown(x, at);
    const double in_bound = row_bound(x, at);
    const double sum = std::exp(s.log_sum);
    for (std::size_t i : at) {
      const double shifted = x.value[i] - s.shift;
      // The guide: NaN at +inf entries of a row holding +inf, 0 elsewhere in it; a row of
      // -inf is 0 / 0.
      double p = std::exp(shifted) / sum;
      if (std::isinf(sum) && !std::isinf(x.value[i]) && !std::isnan(x.value[i])) p = 0;
      r.value[i] = store(x.type, p);
      const double rel = x.bound[i] + in_bound +
                         u * (std::fabs(shifted) + s.spread + 6 + 2 * std::sqrt(double(at.size())));
      r.bound[i] = uncertain ? unknown
                   : std::isfinite(p) ? rel * std::fabs(p) + smallest_normal(x.type)
                                      : 0;
    }
  }
  return r;
}

tensor log_softmax(const tensor& x, unsigned mask) {
  tensor r = make(x.type, x.shape);
  const groups g = group_by(x.shape, mask);
  const double u = eps(x.type);
  for (const auto& at : g.members) {
    if (at.empty()) continue;
    const row_sums s = row_log_sum(x, at);
    const bool uncertain = any_unknown(x, at);
    const double in_bound = row_bound(x, at);
    for (std::size_t i : at) {
      const double shifted = x.value[i] - s.shift, v = shifted - s.log_sum;
      r.value[i] = store(x.type, v);
      const double bound = x.bound[i] + in_bound +
                           u * (2 * std::fabs(shifted) + 2 * std::fabs(s.log_sum) + s.spread + 4 +
                                2 * std::sqrt(double(at.size())));
      r.bound[i] = uncertain ? unknown : std::isfinite(v) ? bound : 0;
    }
  }
  return r;
}

tensor logsumexp(const tensor& x, unsigned mask, bool keepdims) {
  const groups g = group_by(x.shape, mask);
  tensor r = make(x.type, keepdims ? g.result_shape : drop_axes(g.result_shape, mask));
  const double u = eps(x.type);
  for (std::size_t k = 0; k < g.members.size(); ++k) {
    const auto& at = g.members[k];
    if (at.empty()) {  // torch: the log of an empty sum
      r.value[k] = -unknown;
      continue;
    }
    const row_sums s = row_log_sum(x, at);
    const double v = s.shift + s.log_sum;
    r.value[k] = store(x.type, v);
    const double bound = row_bound(x, at) + u * (2 * std::fabs(s.shift) + 2 * std::fabs(s.log_sum) +
                                                 s.spread + 4 + 2 * std::sqrt(double(at.size())));
    r.bound[k] = any_unknown(x, at) ? unknown : std::isfinite(v) ? bound : 0;
  }
  return r;
}

tensor layer_norm(const tensor& x, double eps_value) {
  tensor r = make(x.type, x.shape);
  if (x.shape.empty()) throw std::logic_error("reference: layer_norm of rank 0");
  const groups g = group_by(x.shape, 1u << (x.shape.size() - 1));
  const dtype t = x.type;
  const double u = eps(t), e = store(t, eps_value);
  for (const auto& at : g.members) {
    const double n = double(at.size());
    double mean = 0, mean_abs = 0, mean_bound = 0;
    for (std::size_t i : at) {
      mean += x.value[i] / n;
      mean_abs += std::fabs(x.value[i]) / n;
      mean_bound += x.bound[i] / n;
    }
    mean_bound += (2 + 2 * std::sqrt(n)) * u * mean_abs;
    double var = 0, var_bound = 0;
    for (std::size_t i : at) {
      const double c = x.value[i] - mean, cb = x.bound[i] + mean_bound + u * std::fabs(c);
      var += c * c / n;
      var_bound += (2 * std::fabs(c) * cb + cb * cb) / n;
    }
    var_bound += (2 + 2 * std::sqrt(n)) * u * var;
    const double s = 1 / std::sqrt(var + e);
    const double s_bound = s * (0.5 * var_bound / (var + e) + 3 * u);
    bool finite = true;
    for (std::size_t i : at) finite = finite && std::isfinite(x.value[i]);
    // Sums of large values may overflow in the dtype where the double's do not.
    const bool uncertain = any_unknown(x, at) || mean_abs * n >= largest(t) / 4 ||
                           var * n >= largest(t) / 4;
    for (std::size_t i : at) {
      const double c = x.value[i] - mean, cb = x.bound[i] + mean_bound + u * std::fabs(c);
      const double y = c * s;
      // A NaN or an infinity in the row makes x - mean or the variance NaN: all of it NaN.
      r.value[i] = finite ? store(t, y) : std::nan("");
      r.bound[i] = uncertain ? unknown : finite ? std::fabs(c) * s_bound + s * cb + u * std::fabs(y) : 0;
    }
  }
  return r;
}

tensor reverse_last(const tensor& x) {
  tensor r = x;
  if (x.shape.empty()) return r;
  const std::size_t n = x.shape.back();
  for (std::size_t row = 0; n && row < x.size() / n; ++row)
    for (std::size_t j = 0; j < n; ++j) {
      r.value[row * n + j] = x.value[row * n + n - 1 - j];
      r.bound[row * n + j] = x.bound[row * n + n - 1 - j];
    }
  return r;
}

}  // namespace fz::ref
