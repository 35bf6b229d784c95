#include "session.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>

namespace fz {

namespace {

// splitmix64: a tiny generator whose stream is the same on every platform, so a seed names
// the same data everywhere.
struct random_bits {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double unit() { return double(next() >> 11) * 0x1p-53; }  // [0, 1)
  long integer(long lo, long hi) { return lo + long(next() % std::uint64_t(hi - lo + 1)); }
};

// The ends of a floating-point dtype's range that special values come from.
struct extremes {
  double subnormal, huge, large, tiny_normal;
};

extremes extremes_of(ref::dtype t) {
  switch (t) {
    case ref::dtype::f32:
      return {double(std::numeric_limits<float>::denorm_min()), 1e38, 1e30, 1.5e-38};
    case ref::dtype::bf16:
      return {0x1p-133, 1.6e38, 1e30, 1.5e-38};
    case ref::dtype::f16:
      return {0x1p-24, 3e4, 1e3, 7e-5};
    default:
      return {std::numeric_limits<double>::denorm_min(), 1e307, 1e200, 3e-308};
  }
}

double special(ref::dtype t, random_bits& r) {
  const extremes e = extremes_of(t);
  const double sign = r.unit() < 0.5 ? -1 : 1;
  switch (r.next() % 8) {
    case 0:
      return std::nan("");
    case 1:
      return sign * std::numeric_limits<double>::infinity();
    case 2:
      return -0.0;
    case 3:  // subnormal
      return sign * e.subnormal * double(r.integer(1, 1000));
    case 4:  // huge, near overflow
      return sign * e.huge * (1 + r.unit());
    case 5:
      return sign * e.large * r.unit();
    case 6:
      return sign * e.tiny_normal;
    default:
      return 0.0;
  }
}

double special_integer(random_bits& r) {
  switch (r.next() % 4) {
    case 0:
      return -2147483648.0;
    case 1:
      return 2147483647.0;
    case 2:
      return -1;
    default:
      return 0;
  }
}

}  // namespace

void fill(std::vector<double>& out, ref::dtype t, const dist& d, std::uint64_t seed) {
  random_bits r{seed * 0x2545F4914F6CDD1Dull + 1};
  for (double& v : out) {
    const bool odd = d.special_rate > 0 && r.unit() < d.special_rate;
    if (t == ref::dtype::boolean) {
      v = r.unit() < (d.kind == dist::bools ? d.lo : 0.5) ? 1 : 0;
    } else if (t == ref::dtype::i32 || d.kind == dist::integers) {
      v = odd && t == ref::dtype::i32 ? special_integer(r)
                                      : double(r.integer(long(d.lo), long(d.hi)));
    } else if (odd) {
      v = special(t, r);
    } else if (d.kind == dist::magnitudes) {  // |v| spread over many binades
      v = std::exp(std::log(d.lo) + r.unit() * (std::log(d.hi) - std::log(d.lo)));
    } else {
      v = d.lo + r.unit() * (d.hi - d.lo);
    }
    v = ref::store(t, v);
  }
}

session::session(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--no-eager")
      opt.eager = false;
    else if (a == "--no-inplace")
      opt.inplace = false;
    else if (a == "--no-grad")
      opt.grad = false;
    else if (a == "--verbose")
      opt.verbose = true;
    else if (a == "--dump")
      opt.dump = true;
    else if (a == "--model" && i + 1 < argc)
      opt.only = std::atol(argv[++i]);
    else
      std::fprintf(stderr, "fuzz: unknown option %s\n", a.c_str());
  }
}

void session::begin(long seed, int config, const std::string& mode) {
  seed_ = seed;
  config_ = config;
  mode_ = mode;
  if (opt.verbose) std::printf("model %ld config %d: %s\n", seed, config, mode.c_str());
}

void session::fail(const std::string& what) {
  ++mismatches;
  std::printf("FAIL model %ld config %d %s: %s\n", seed_, config_, mode_.c_str(), what.c_str());
  std::fflush(stdout);
}

void session::skip_gradient(long seed, const std::string& why) {
  ++gradients_refused;
  if (opt.verbose) std::printf("model %ld: gradient not compiled: %s\n", seed, why.c_str());
}

std::string shape_string(const std::vector<std::size_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {
std::string index_string(std::size_t flat, const std::vector<std::size_t>& shape) {
  std::vector<std::size_t> at(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    at[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  return shape_string(at);
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// A correct result lies within the reference's bound of the exact value, and so does the
// reference itself: twice the bound apart at most. NaN must meet NaN, infinity itself.
bool agrees(double got, double want, double bound) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  if (!std::isfinite(got)) return false;
  return std::fabs(got - want) <= 2 * bound;
}
}  // namespace

void session::compare(const std::string& label,
                      const ref::tensor& want,
                      const std::vector<double>& got,
                      const std::vector<std::size_t>& got_shape) {
  ++checks;
  if (got_shape != want.shape) {
    fail(label + ": shape " + shape_string(got_shape) + ", want " + shape_string(want.shape));
    return;
  }
  std::size_t wrong = 0, first = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (want.bound[i] == ref::unknown) {
      ++undetermined;
      continue;
    }
    ++elements;
    if (!agrees(got[i], want.value[i], want.bound[i]) && wrong++ == 0) first = i;
  }
  if (wrong == 0) return;
  fail(label + " " + ref::name(want.type) + shape_string(want.shape) + ": element " +
       index_string(first, want.shape) + " is " + number(got[first]) + ", want " +
       number(want.value[first]) + " +- " + number(2 * want.bound[first]) + " (" +
       std::to_string(wrong) + " of " + std::to_string(want.size()) + " elements differ)");
}

int session::finish() const {
  std::printf(
      "fuzz: %ld models, %ld checks, %ld mismatches (%ld elements compared, %ld "
      "undetermined; %ld gradients compared, %ld left out, %ld refused)\n",
      models,
      checks,
      mismatches,
      elements,
      undetermined,
      gradients,
      gradients_undetermined,
      gradients_refused);
  return mismatches == 0 ? 0 : 1;
}

}  // namespace fz
