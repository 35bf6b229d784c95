#pragma once

// Shared helpers for loom's op tests: seeded random fills, an independent double-precision
// reference to compare against, and NaN-aware comparisons that report the first mismatch.
//
// The comparisons return a `report` instead of asserting per element: a 70001-element tensor
// would otherwise produce 70001 assertions and bury the one that matters.

#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <utility>

namespace loom_test {

using loom::dyn;

template <class T>
using vec = loom::tensor<T, loom::extents<dyn>>;

inline constexpr float fnan = std::numeric_limits<float>::quiet_NaN();
inline constexpr float finf = std::numeric_limits<float>::infinity();
inline constexpr double dnan = std::numeric_limits<double>::quiet_NaN();
inline constexpr double dinf = std::numeric_limits<double>::infinity();

// Element counts every element-wise op is run on. The CPU backend works in blocks of 64
// elements with a scalar loop for the rest of a row, and splits passes of at least 2^16
// elements over threads: 63 is all scalar tail, 64 one block, 65 a block and a tail, and
// 70001 takes the threaded path with a tail that is not a multiple of the block width.
inline constexpr std::array<std::size_t, 7> sizes{0, 1, 63, 64, 65, 1000, 70001};

// --- random fills ----------------------------------------------------------------------------

template <class T, class E, class Dist>
void fill_with(loom::tensor<T, E>& t, std::uint32_t seed, Dist dist) {
  std::mt19937 gen(seed);
  for (auto& v : t) v = static_cast<T>(dist(gen));
}

template <class T, class E>
void fill_uniform(loom::tensor<T, E>& t, std::uint32_t seed, double lo, double hi) {
  fill_with(t, seed, std::uniform_real_distribution<double>(lo, hi));
}

template <class T, class E>
void fill_normal(loom::tensor<T, E>& t, std::uint32_t seed, double mean, double stddev) {
  fill_with(t, seed, std::normal_distribution<double>(mean, stddev));
}

template <class T, class E>
void fill_int(loom::tensor<T, E>& t, std::uint32_t seed, int lo, int hi) {
  fill_with(t, seed, std::uniform_int_distribution<int>(lo, hi));
}

template <class E>
void fill_bool(loom::tensor<bool, E>& t, std::uint32_t seed, double p_true = 0.5) {
  fill_with(t, seed, std::bernoulli_distribution(p_true));
}

// Magnitudes spread over many binades (exp of a uniform exponent), for log, sqrt and pow
// bases, where a uniform fill would almost never produce small values.
template <class T, class E>
void fill_log_uniform(loom::tensor<T, E>& t, std::uint32_t seed, double lo, double hi) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> d(std::log(lo), std::log(hi));
  for (auto& v : t) v = static_cast<T>(std::exp(d(gen)));
}

// --- comparisons -----------------------------------------------------------------------------

// |got - want| <= abs + rel * |want|. Tests state both parts per op and dtype, with the
// reason for the numbers beside them.
struct tolerance {
  double rel = 0;
  double abs = 0;
};

// NaN-aware closeness: a NaN reference needs a NaN, an infinite one the same infinity;
// a finite reference is met within the tolerance, and never by NaN or infinity.
inline bool close(double got, double want, tolerance tol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  if (!std::isfinite(got)) return false;
  return std::abs(got - want) <= tol.abs + tol.rel * std::abs(want);
}

// Exact equality that counts NaN equal to NaN (any payload) and tells -0 from +0.
inline bool same(double got, double want) {
  if (std::isnan(got) || std::isnan(want)) return std::isnan(got) && std::isnan(want);
  return got == want && std::signbit(got) == std::signbit(want);
}

struct report {
  explicit report(std::string what_) : what(std::move(what_)) {}

  std::string what;
  std::size_t checked = 0;
  std::size_t bad = 0;
  std::size_t first = 0;  // flat index of the first mismatch
  double got = 0;
  double want = 0;
  bool shape_ok = true;
  std::string shapes;

  bool ok() const { return shape_ok && bad == 0; }

  std::string describe() const {
    std::ostringstream s;
    s.precision(std::numeric_limits<double>::max_digits10);
    s << what << ": ";
    if (!shape_ok)
      s << "shapes differ: " << shapes;
    else if (bad == 0)
      s << checked << " elements match";
    else
      s << bad << " of " << checked << " elements differ; first at flat index " << first << ": got "
        << got << ", want " << want;
    return s.str();
  }

  void note(std::size_t i, double g, double w) {
    if (bad++ == 0) {
      first = i;
      got = g;
      want = w;
    }
  }
};

// Compares every element of `got` (flat, row-major) with want(i), a double computed by the
// test's own reference loop.
template <class Tensor, class Want>
report compare_with(const Tensor& got, Want&& want, tolerance tol, std::string what) {
  report r(std::move(what));
  r.checked = got.size();
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = static_cast<double>(got.data()[i]);
    const double w = static_cast<double>(want(i));
    if (!close(g, w, tol)) r.note(i, g, w);
  }
  return r;
}

// Like compare_with, for results that are sums of several terms: rounding errors scale with
// the terms, not with their (possibly cancelling) sum, so the bound for element i is
// tol.abs + tol.rel * scale(i), where scale(i) is the sum of the terms' magnitudes.
template <class Tensor, class Want, class Scale>
report compare_scaled(
    const Tensor& got, Want&& want, Scale&& scale, tolerance tol, std::string what) {
  report r(std::move(what));
  r.checked = got.size();
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = static_cast<double>(got.data()[i]);
    const double w = static_cast<double>(want(i));
    if (!close(g, w, {0, tol.abs + tol.rel * std::abs(static_cast<double>(scale(i)))}))
      r.note(i, g, w);
  }
  return r;
}

// Bitwise-level agreement of two results of the same op (NaN equals NaN, -0 differs from
// +0), shapes included: the check that fused and eager execution compute the same thing.
template <class A, class B>
report compare_same(const A& got, const B& want, std::string what) {
  report r(std::move(what));
  if (!(got.shape() == want.shape())) {
    r.shape_ok = false;
    r.shapes = got.shape().to_string() + " vs " + want.shape().to_string();
    return r;
  }
  r.checked = got.size();
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = static_cast<double>(got.data()[i]);
    const double w = static_cast<double>(want.data()[i]);
    if (!same(g, w)) r.note(i, g, w);
  }
  return r;
}

// --- broadcasting reference ------------------------------------------------------------------

// The run-time shape with the given extents.
inline loom::shape make_shape(std::initializer_list<std::size_t> dims) {
  loom::shape s;
  s.rank = dims.size();
  std::size_t d = 0;
  for (std::size_t e : dims) s.dims[d++] = e;
  return s;
}

// Flat index into `in` of the element that NumPy broadcasting reads for flat index `flat` of
// an output of shape `out`: axes are aligned at the last one, and an extent of 1 (or a
// missing leading axis) always reads index 0. Written independently of loom's loop nests.
inline std::size_t broadcast_source(const loom::shape& out,
                                    const loom::shape& in,
                                    std::size_t flat) {
  std::array<std::size_t, loom::max_rank> index{};
  for (std::size_t d = out.rank; d-- > 0;) {
    index[d] = flat % out.dims[d];
    flat /= out.dims[d];
  }
  std::size_t offset = 0;
  const std::size_t lead = out.rank - in.rank;
  for (std::size_t d = 0; d < in.rank; ++d) {
    const std::size_t i = in.dims[d] == 1 ? 0 : index[d + lead];
    offset = offset * in.dims[d] + i;
  }
  return offset;
}

// The element of `t` that broadcasting reads for flat index `flat` of an output of shape
// `out`, as a double.
template <class Tensor>
double broadcast_read(const Tensor& t, const loom::shape& out, std::size_t flat) {
  return static_cast<double>(t.data()[broadcast_source(out, t.shape(), flat)]);
}

}  // namespace loom_test

// Asserts a report with its description attached, so a failure names the first mismatch.
#define LOOM_CHECK_REPORT(...)                              \
  do {                                                      \
    const ::loom_test::report loom_report_ = (__VA_ARGS__); \
    INFO(loom_report_.describe());                          \
    CHECK(loom_report_.ok());                               \
  } while (false)
