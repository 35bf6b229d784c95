#pragma once

// Comparing a result with what it should be, shared by tests/unit and tests/cuda: the
// tolerances, NaN-aware closeness, and comparisons that return a `report` instead of
// asserting per element (a 70001-element tensor would otherwise produce 70001 assertions
// and bury the one that matters). A report names the element furthest outside its bound
// and the first one outside it; LOOM_CHECK_REPORT asserts a report with that attached.
//
// The wanted values come from the test's own double-precision reference, given either as a
// function of the flat index (compare_with, compare_scaled), as a `reference` (compare), or
// as another tensor (compare, compare_same). Host code only: tests/cuda/*.cu include it
// through nvcc, and include Catch2 themselves (not its main: see tests/cuda/main.cu).

#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "shapes.hpp"

namespace loom_test {

// --- the numbers tolerances are written in -----------------------------------------------

inline constexpr double eps_f = std::numeric_limits<float>::epsilon();  // 2^-23
inline constexpr double u_f = eps_f / 2;                                // unit roundoff, f32
inline constexpr double u_d = std::numeric_limits<double>::epsilon() / 2;
inline constexpr float fnan = std::numeric_limits<float>::quiet_NaN();
inline constexpr float finf = std::numeric_limits<float>::infinity();
inline constexpr double dnan = std::numeric_limits<double>::quiet_NaN();
inline constexpr double dinf = std::numeric_limits<double>::infinity();

// |got - want| <= abs + rel * |want| (or rel * scale, where a reference gives one: the sum
// of the magnitudes of the terms of a sum, whose rounding scales with them). Tests state
// both parts per op and dtype, with the reason for the numbers beside them.
struct tolerance {
  double rel = 0;
  double abs = 0;
};

// NaN-aware closeness: a NaN reference needs a NaN, an infinite one the same infinity; a
// finite one is met within `bound`, and never by NaN or infinity.
inline bool close(double got, double want, double bound) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  if (!std::isfinite(got)) return false;
  return std::abs(got - want) <= bound;
}

inline bool close(double got, double want, tolerance tol) {
  return close(got, want, tol.abs + tol.rel * std::abs(want));
}

// Exact equality that counts NaN equal to NaN (any payload) and tells -0 from +0.
inline bool same(double got, double want) {
  if (std::isnan(got) || std::isnan(want)) return std::isnan(got) && std::isnan(want);
  return got == want && std::signbit(got) == std::signbit(want);
}

// An element as a double; a bool as its raw byte, so that a bool the code under test never
// wrote (the CUDA tests poison their outputs with 0xAB bytes) reads 171 rather than "true".
template <class T>
double as_double(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    unsigned char b;
    std::memcpy(&b, &v, 1);
    return static_cast<double>(b);
  } else {
    return static_cast<double>(v);
  }
}

// --- reports -------------------------------------------------------------------------------

struct report {
  explicit report(std::string what_) : what(std::move(what_)) {}

  std::string what;
  loom::shape shape;  // of the result: names the elements in describe()
  bool shape_ok = true;
  std::string shapes;  // when !shape_ok: why nothing was compared
  std::size_t checked = 0, bad = 0;
  std::size_t first = 0;  // flat index of the first mismatch
  // The element furthest outside its bound (or any NaN/inf mismatch).
  std::size_t worst = 0;
  double worst_excess = -1, got = 0, want = 0, allowed = 0;

  bool ok() const { return shape_ok && bad == 0; }

  void note(std::size_t i, double g, double w, double bound) {
    const double diff = std::abs(g - w);
    const double excess = std::isfinite(diff) ? diff - bound : std::numeric_limits<double>::max();
    if (bad++ == 0) first = i;
    if (excess > worst_excess) {
      worst_excess = excess;
      worst = i;
      got = g;
      want = w;
      allowed = bound;
    }
  }

  std::string describe() const {
    std::ostringstream s;
    s.precision(std::numeric_limits<double>::max_digits10);
    s << what << ": ";
    if (!shape_ok)
      s << "shapes differ: " << shapes;
    else if (bad == 0)
      s << checked << " elements match";
    else
      s << bad << " of " << checked << " elements differ; worst at " << index_text(shape, worst)
        << " (flat " << worst << "): got " << got << ", want " << want << ", |diff| "
        << std::abs(got - want) << " > allowed " << allowed << "; first at "
        << index_text(shape, first);
    return s.str();
  }
};

// A report that compared nothing, saying why (a result that threw, say).
inline report not_compared(std::string what, std::string why) {
  report r(std::move(what));
  r.shape_ok = false;
  r.shapes = std::move(why);
  return r;
}

// A report that compared nothing because the result's shape is not the expected one.
inline report shapes_differ(std::string what, const loom::shape& got, const loom::shape& want) {
  report r = not_compared(std::move(what), got.to_string() + " vs expected " + want.to_string());
  r.shape = got;
  return r;
}

// --- comparisons ---------------------------------------------------------------------------

// Every comparison below: element i of `got` (flat, row-major) against want(i), allowed
// |got - want| <= bound(i, want(i)), the NaN and infinity cases as close() says.
template <class Got, class Want, class Bound>
report compare_elements(const Got& got, Want&& want, Bound&& bound, std::string what) {
  report r(std::move(what));
  r.shape = got.shape();
  r.checked = got.size();
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = as_double(got.data()[i]);
    const double w = static_cast<double>(want(i));
    const double b = bound(i, w);
    if (!close(g, w, b)) r.note(i, g, w, b);
  }
  return r;
}

// Against want(i), a double computed by the test's own reference loop, within `tol`.
template <class Got, class Want>
report compare_with(const Got& got, Want&& want, tolerance tol, std::string what) {
  return compare_elements(
      got,
      want,
      [&](std::size_t, double w) { return tol.abs + tol.rel * std::abs(w); },
      std::move(what));
}

// Like compare_with, for results that are sums of several terms: rounding errors scale with
// the terms, not with their (possibly cancelling) sum, so the bound for element i is
// tol.abs + tol.rel * scale(i), where scale(i) is the sum of the terms' magnitudes.
template <class Got, class Want, class Scale>
report compare_scaled(const Got& got, Want&& want, Scale&& scale, tolerance tol, std::string what) {
  return compare_elements(
      got,
      want,
      [&](std::size_t i, double) {
        return tol.abs + tol.rel * std::abs(static_cast<double>(scale(i)));
      },
      std::move(what));
}

// A double-precision reference: the expected shape, values, and optionally each element's
// scale for the relative part of the bound.
struct reference {
  loom::shape shape;
  std::vector<double> value;
  std::vector<double> scale;  // empty: the bound scales with |value|
};

// A reference from a function of the flat index.
template <class F>
reference reference_of(const loom::shape& s, F&& f) {
  reference r;
  r.shape = s;
  r.value.resize(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) r.value[i] = static_cast<double>(f(i));
  return r;
}

// Against a reference, shape included.
template <class Got>
report compare(const Got& got, const reference& want, tolerance tol, std::string what) {
  if (!(got.shape() == want.shape) || want.value.size() != got.size())
    return shapes_differ(std::move(what), got.shape(), want.shape);
  return compare_elements(
      got,
      [&](std::size_t i) { return want.value[i]; },
      [&](std::size_t i, double w) {
        return tol.abs + tol.rel * (want.scale.empty() ? std::abs(w) : want.scale[i]);
      },
      std::move(what));
}

// Against another tensor (another backend's result, say), shape included.
template <class Got, class Want>
report compare(const Got& got, const Want& want, tolerance tol, std::string what) {
  if (!(got.shape() == want.shape()))
    return shapes_differ(std::move(what), got.shape(), want.shape());
  return compare_with(
      got, [&](std::size_t i) { return as_double(want.data()[i]); }, tol, std::move(what));
}

// Exact agreement (NaN equals NaN).
template <class Got, class Want>
report compare_exact(const Got& got, const Want& want, std::string what) {
  return compare(got, want, tolerance{}, std::move(what));
}

// Agreement to the bit pattern's meaning (NaN equals NaN, -0 differs from +0), shapes
// included: the check that two ways of running a model (fused and eager, say) compute the
// same thing.
template <class Got, class Want>
report compare_same(const Got& got, const Want& want, std::string what) {
  if (!(got.shape() == want.shape()))
    return shapes_differ(std::move(what), got.shape(), want.shape());
  report r(std::move(what));
  r.shape = got.shape();
  r.checked = got.size();
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = as_double(got.data()[i]);
    const double w = as_double(want.data()[i]);
    if (!same(g, w)) r.note(i, g, w, 0);
  }
  return r;
}

}  // namespace loom_test

// Asserts a report with its description attached, so that a failure names the worst element.
#define LOOM_CHECK_REPORT(...)                              \
  do {                                                      \
    const ::loom_test::report loom_report_ = (__VA_ARGS__); \
    INFO(loom_report_.describe());                          \
    CHECK(loom_report_.ok());                               \
  } while (false)
