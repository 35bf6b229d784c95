#pragma once

#include <array>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>

namespace loom {

// An extent only known at run time, in the spirit of std::dynamic_extent.
inline constexpr std::size_t dyn = std::numeric_limits<std::size_t>::max();

inline constexpr std::size_t max_rank = 4;

// Operands of one node at most (where has three; an opaque callable may take up to four).
inline constexpr std::size_t max_operands = 4;

// The static shape of a tensor: each extent is a number or `dyn`. Row-major, rank 0 to 4.
template <std::size_t... E>
struct extents {
  static_assert(sizeof...(E) <= max_rank, "loom: tensors have rank 4 at most");
  static constexpr std::size_t rank = sizeof...(E);
  static constexpr std::array<std::size_t, rank> dims{E...};
  static constexpr std::size_t rank_dynamic = ((E == dyn ? 1 : 0) + ... + 0);
};

template <class T>
inline constexpr bool is_extents_v = false;
template <std::size_t... E>
inline constexpr bool is_extents_v<extents<E...>> = true;

template <class T>
concept extents_type = is_extents_v<T>;

namespace detail {

inline std::string extent_to_string(std::size_t e) {
  return e == dyn ? std::string("?") : std::to_string(e);
}

// NumPy broadcasting of two static shapes, aligned at the last axis. A `dyn` against a
// static n > 1 must be n or 1 at run time, so the result is n; `dyn` against `dyn` stays
// `dyn`. `ok` is false where two static extents disagree.
template <std::size_t RA, std::size_t RB>
struct broadcast_result {
  static constexpr std::size_t rank = RA > RB ? RA : RB;
  std::array<std::size_t, rank> dims{};
  bool ok = true;
};

template <std::size_t RA, std::size_t RB>
constexpr broadcast_result<RA, RB> broadcast_dims(const std::array<std::size_t, RA>& a,
                                                  const std::array<std::size_t, RB>& b) {
  broadcast_result<RA, RB> r;
  constexpr std::size_t R = broadcast_result<RA, RB>::rank;
  // k counts the axes from the last one, where the operands align; an operand has extent 1
  // on the leading axes it lacks. (Counting from the first axis compares i + RA < R, which
  // nvcc warns is a pointless comparison with 0 when both operands are scalars.)
  for (std::size_t k = 1; k <= R; ++k) {
    const std::size_t ea = k <= RA ? a[RA - k] : 1;
    const std::size_t eb = k <= RB ? b[RB - k] : 1;
    std::size_t& e = r.dims[R - k];
    if (ea == eb || eb == 1)
      e = ea;
    else if (ea == 1)
      e = eb;
    else if (ea == dyn)
      e = eb;
    else if (eb == dyn)
      e = ea;
    else
      r.ok = false;
  }
  return r;
}

template <class A, class B>
inline constexpr auto broadcast_of = broadcast_dims(A::dims, B::dims);

template <auto Dims, class Seq>
struct extents_from;
template <auto Dims, std::size_t... I>
struct extents_from<Dims, std::index_sequence<I...>> {
  using type = extents<Dims[I]...>;
};

}  // namespace detail

// True when two static shapes broadcast. Named so that a failed static_assert on it names
// both shapes in the compiler's note.
template <class Op, class A, class B>
inline constexpr bool shapes_broadcast = detail::broadcast_of<A, B>.ok;

template <class A, class B>
using broadcast_t =
    typename detail::extents_from<detail::broadcast_of<A, B>.dims,
                                  std::make_index_sequence<detail::broadcast_of<A, B>.rank>>::type;

}  // namespace loom
