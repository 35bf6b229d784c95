#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "loom/backends/cpu/lanes.hpp"
#include "loom/core/config.hpp"
#include "loom/graph/ops/reduce.hpp"

namespace loom::cpu {

// Folds a reduction's elements: W-element blocks into W independent lanes (vectorised, and
// W partial results instead of one long dependency chain), and single elements at the ends
// of rows. Every W blocks the lanes are folded into a second set, so a sum of n floats
// rounds like a sum of W*W-element pieces instead of n/W-element ones. Single elements are
// gathered into a block of their own and folded like the others, W at a time: a reduction
// whose rows are all shorter than W (a sum over [n, 3], whose operand broadcasts so that its
// rows cannot merge) would otherwise be one serial sum: the f32 mean of 300,000 squares was
// 1e-4 off, relative to the exact value.
template <class Kind, class T, int W>
struct fold {
  using lanes = block_lanes<W>;
  using block = typename lanes::template value<T>;
  using combine = typename Kind::combine;

  block partial = block::Constant(Kind::template identity<T>());
  block total = partial;
  int blocks = 0;
  // Whether a block was folded: if not, partial and total hold only the identity, and the
  // result is the single elements' fold alone. A row shorter than W (a softmax over 10
  // classes) then skips the fold across W lanes, which cost more than the row itself.
  bool any_block = false;
  block singles;
  int single_count = 0;

  void add(T x, std::size_t) {
    singles[single_count++] = x;
    if (single_count == W) {
      add_blocks(1, 0, [this](std::size_t) { return singles; });
      single_count = 0;
    }
  }

  // Folds `count` consecutive blocks, `next(k)` the k-th. The running lanes are a local
  // that nothing takes the address of inside the inner loop: as a member, or passed by
  // reference in the loop, GCC keeps it in memory and stores it every block, which halves
  // a row sum's speed.
  template <class Next>
  LOOM_INLINE void add_blocks(std::size_t count, std::size_t, Next&& next) {
    any_block = any_block || count != 0;
    for (std::size_t k = 0; k < count;) {
      const std::size_t run = std::min<std::size_t>(count - k, W - blocks);
      block p = partial;
      for (std::size_t end = k + run; k < end; ++k)
        p = lanes::template apply<T>(combine{}, p, next(k));
      partial = p;
      blocks += int(run);
      if (blocks == W) {
        total = lanes::template apply<T>(combine{}, total, partial);
        partial = block::Constant(Kind::template identity<T>());
        blocks = 0;
      }
    }
  }

  T result(std::size_t count) const {
    T folded = Kind::template identity<T>();
    if (any_block) folded = across_lanes(lanes::template apply<T>(combine{}, total, partial));
    for (int k = 0; k < single_count; ++k) folded = combine::scalar(folded, singles[k]);
    return Kind::finish(folded, count);
  }

  // Tree reductions over the lanes: a serial fold of 64 lanes would cost a row of a softmax
  // about as much as its first 64 elements. Eigen's for floating-point sums and products; for
  // max and min, halves combined by the op's own NaN-propagating packet form down to 8 lanes
  // (Eigen's NaN-propagating maxCoeff reduces its last packet lane by lane, with a NaN test
  // each); for integers the halves too, whose last lanes fold with the op's wrapping scalar
  // form, where Eigen's sum and prod end in plain int arithmetic (undefined on overflow).
  static T across_lanes(const block& all) {
    if constexpr (std::is_integral_v<T>)
      return halves<W>(all);
    else if constexpr (std::is_same_v<combine, ops::add>)
      return all.sum();
    else if constexpr (std::is_same_v<combine, ops::mul>)
      return all.prod();
    else
      return halves<W>(all);
  }
  template <int N, class A>
  static T halves(const A& a) {
    if constexpr (N <= 8) {
      T r = a[0];
      for (int k = 1; k < N; ++k) r = combine::scalar(r, a[k]);
      return r;
    } else {
      const cpu::block<T, N / 2> half = block_lanes<N / 2>::template apply<T>(
          combine{}, a.template head<N / 2>(), a.template tail<N / 2>());
      return halves<N / 2>(half);
    }
  }
};

// argmax keeps, per lane, the best value and where it was (argmax_kind::beats says which
// wins). Lane W holds the single elements.
template <class T, int W>
struct fold<ops::argmax_kind, T, W> {
  using block = typename block_lanes<W>::template value<T>;
  T best[W + 1];
  std::int64_t where[W + 1];

  fold() {
    for (int k = 0; k <= W; ++k) where[k] = -1;
  }
  void offer(int lane, T x, std::int64_t at) {
    if (where[lane] < 0 || ops::argmax_kind::beats(x, at, best[lane], where[lane])) {
      best[lane] = x;
      where[lane] = at;
    }
  }
  void add(const block& v, std::size_t at) {
    for (int k = 0; k < W; ++k) offer(k, v[k], std::int64_t(at) + k);
  }
  void add(T x, std::size_t at) { offer(W, x, std::int64_t(at)); }
  template <class Next>
  void add_blocks(std::size_t count, std::size_t at, Next&& next) {
    for (std::size_t k = 0; k < count; ++k) add(next(k), at + k * W);
  }

  std::int32_t result(std::size_t) const {
    int pick = -1;
    for (int k = 0; k <= W; ++k)
      if (where[k] >= 0 &&
          (pick < 0 || ops::argmax_kind::beats(best[k], where[k], best[pick], where[pick])))
        pick = k;
    return std::int32_t(pick < 0 ? 0 : where[pick]);
  }
};

}  // namespace loom::cpu
