#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "loom/core/config.hpp"
#include "loom/core/errors.hpp"
#include "loom/core/extents.hpp"

namespace loom {

// The extents of a tensor at run time.
struct shape {
  std::size_t rank = 0;
  std::array<std::size_t, max_rank> dims{};

  constexpr std::size_t size() const {
    std::size_t n = 1;
    for (std::size_t i = 0; i < rank; ++i) n *= dims[i];
    return n;
  }
  constexpr std::size_t operator[](std::size_t i) const { return dims[i]; }
  friend constexpr bool operator==(const shape& a, const shape& b) {
    if (a.rank != b.rank) return false;
    for (std::size_t i = 0; i < a.rank; ++i)
      if (a.dims[i] != b.dims[i]) return false;
    return true;
  }

  std::string to_string() const {
    std::string s = "[";
    for (std::size_t i = 0; i < rank; ++i) {
      s += i ? ", " : "";  // two steps: see extents_string
      s += std::to_string(dims[i]);
    }
    return s + "]";
  }
};

// Printable form of a static shape: `[?, 1024]`.
LOOM_COLD inline std::string extents_string(std::size_t rank, const std::size_t* dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < rank; ++i) {
    // Appended in two steps: `", " + a temporary string` makes GCC 12 at -O3 warn of an
    // overlapping memcpy that cannot happen (-Wrestrict), an error in -Werror builds.
    s += i ? ", " : "";
    s += detail::extent_to_string(dims[i]);
  }
  return s + "]";
}
template <extents_type E>
std::string extents_string() {
  return extents_string(E::rank, E::dims.data());
}

// True when the run-time shape `s` is one that static extents E admit.
template <extents_type E>
constexpr bool conforms(const shape& s) {
  if (s.rank != E::rank) return false;
  for (std::size_t i = 0; i != E::rank; ++i)
    if (E::dims[i] != dyn && E::dims[i] != s.dims[i]) return false;
  return true;
}

namespace detail {
// The shape of an empty tensor with extents E: the static extents, and 0 for dynamic ones.
template <extents_type E>
constexpr shape static_shape() {
  shape s;
  s.rank = E::rank;
  for (std::size_t i = 0; i != E::rank; ++i) s.dims[i] = E::dims[i] == dyn ? 0 : E::dims[i];
  return s;
}
}  // namespace detail

// NumPy broadcasting of two run-time shapes; `what` names the op for the message.
inline shape broadcast_shapes(const shape& a, const shape& b, std::string_view what) {
  shape r;
  r.rank = a.rank > b.rank ? a.rank : b.rank;
  for (std::size_t i = 0; i < r.rank; ++i) {
    const std::size_t ea = i < r.rank - a.rank ? 1 : a.dims[i - (r.rank - a.rank)];
    const std::size_t eb = i < r.rank - b.rank ? 1 : b.dims[i - (r.rank - b.rank)];
    if (ea != eb && ea != 1 && eb != 1)
      throw shape_error("loom: " + std::string(what) + ": shapes " + a.to_string() + " and " +
                        b.to_string() + " do not broadcast");
    r.dims[i] = ea == 1 ? eb : ea;
  }
  return r;
}

}  // namespace loom
