#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>

#include "loom/core/config.hpp"
#include "loom/core/extents.hpp"
#include "loom/core/shape.hpp"
#include "loom/graph/node_kind.hpp"
#include "loom/graph/ops/binary.hpp"
#include "loom/graph/ops/signature.hpp"

namespace loom {

// The axes a reduction runs over, as written by the user: `loom::axes<0, -1>`; a negative
// axis counts from the end, as in NumPy.
template <int... A>
struct axes_t {};
template <int... A>
inline constexpr axes_t<A...> axes{};

// Keep each reduced axis as an extent of 1, so the result broadcasts against the operand.
struct keepdims_t {};
inline constexpr keepdims_t keepdims{};

// The reduced axes as a bit mask over the operand's rank. Named so that a failed check shows
// the rank and the axes in the compiler's note.
template <std::size_t Rank, int... A>
inline constexpr bool reduction_axes_in_range = ((A >= -int(Rank) && A < int(Rank)) && ...);

template <std::size_t Rank, int... A>
inline constexpr bool reduction_axes_distinct = [] {
  unsigned seen = 0;
  bool distinct = true;
  for (int a : std::array<int, sizeof...(A)>{A...}) {
    const unsigned bit = 1u << unsigned(a < 0 ? a + int(Rank) : a);
    distinct = distinct && !(seen & bit);
    seen |= bit;
  }
  return distinct;
}();

namespace detail {
template <std::size_t Rank, int... A>
constexpr unsigned axes_mask() {
  static_assert(reduction_axes_in_range<Rank, A...>,
                "loom: a reduction axis is out of range for the operand's rank");
  static_assert(reduction_axes_distinct<Rank, A...>, "loom: a reduction names an axis twice");
  unsigned mask = 0;
  ((mask |= 1u << unsigned(A < 0 ? A + int(Rank) : A)), ...);
  return mask;
}
}  // namespace detail

namespace ops {

// How each reduction combines elements: the element-wise op that folds two partial results
// (so fused reductions use the same scalar and SIMD code as the element-wise ops), the value
// an empty reduction gives, and the result's dtype.
// Folds finish with the folded value itself; mean divides it by the count.
struct plain_fold {
  template <class T>
  static constexpr T finish(T folded, std::size_t) {
    return folded;
  }
};

struct sum_kind : plain_fold {
  static constexpr std::string_view name = "sum";
  static constexpr std::string_view onnx = "ReduceSum";
  using combine = add;
  template <class T>
  static constexpr T identity() {
    return T(0);
  }
  static constexpr bool empty_allowed = true;
  template <class T>
  struct signature : loom::signature<arithmetic_t<T>, arithmetic_t<T>> {};
};

struct prod_kind : plain_fold {
  static constexpr std::string_view name = "prod";
  static constexpr std::string_view onnx = "ReduceProd";
  using combine = mul;
  template <class T>
  static constexpr T identity() {
    return T(1);
  }
  static constexpr bool empty_allowed = true;
  template <class T>
  struct signature : loom::signature<arithmetic_t<T>, arithmetic_t<T>> {};
};

// mean is a sum divided by the count, in floating point (the mean of i32 is f32).
struct mean_kind : sum_kind {
  static constexpr std::string_view name = "mean";
  static constexpr std::string_view onnx = "ReduceMean";
  template <class T>
  struct signature : loom::signature<floating_t<T>, floating_t<T>> {};
  template <class T>
  static constexpr T finish(T sum, std::size_t count) {
    return sum / T(count);
  }
};

// max and min propagate NaN, as the element-wise maximum and minimum do. Over an empty axis
// they have no value, and the backend raises shape_error.
struct max_kind : plain_fold {
  static constexpr std::string_view name = "max";
  static constexpr std::string_view onnx = "ReduceMax";
  using combine = maximum;
  template <class T>
  static constexpr T identity() {
    if constexpr (std::numeric_limits<T>::has_infinity)
      return -std::numeric_limits<T>::infinity();
    else
      return std::numeric_limits<T>::lowest();
  }
  static constexpr bool empty_allowed = false;
  template <class T>
  struct signature : loom::signature<arithmetic_t<T>, arithmetic_t<T>> {};
};

// max whose value over an empty axis is its identity, -inf (the lowest value for
// integers), as NumPy's max with `initial`: the max that softmax, log_softmax and logsumexp
// subtract before exp. So they follow PyTorch over an empty axis: softmax of an empty row
// is empty, logsumexp of one -inf. It prints as max.
struct max_with_identity_kind : max_kind {
  static constexpr bool empty_allowed = true;
};

struct min_kind : plain_fold {
  static constexpr std::string_view name = "min";
  static constexpr std::string_view onnx = "ReduceMin";
  using combine = minimum;
  template <class T>
  static constexpr T identity() {
    if constexpr (std::numeric_limits<T>::has_infinity)
      return std::numeric_limits<T>::infinity();
    else
      return std::numeric_limits<T>::max();
  }
  static constexpr bool empty_allowed = false;
  template <class T>
  struct signature : loom::signature<arithmetic_t<T>, arithmetic_t<T>> {};
};

// argmax: the index of the first largest element along the one reduced axis (or in the
// row-major order of all elements); a NaN counts as largest, as in PyTorch.
struct argmax_kind {
  static constexpr std::string_view name = "argmax";
  static constexpr std::string_view onnx = "ArgMax";
  static constexpr bool empty_allowed = false;
  template <class T>
  struct signature : loom::signature<std::int32_t, arithmetic_t<T>> {};

  template <class T>
  LOOM_HD_INLINE static constexpr bool is_nan(T x) {
    if constexpr (std::numeric_limits<T>::has_quiet_NaN)
      return x != x;
    else
      return false;
  }
  // Which of two candidates wins, value `x` at index `at` or the best so far, `best` at
  // `best_at`: a NaN beats a number, a larger value a smaller one, and of equal values (or two
  // NaNs) the first. Both backends fold with this one rule, in any order of merging.
  template <class T>
  LOOM_HD_INLINE static constexpr bool beats(T x, std::int64_t at, T best, std::int64_t best_at) {
    const bool nan_x = is_nan(x), nan_best = is_nan(best);
    if (nan_x != nan_best) return nan_x;
    if (x != best && !nan_x) return x > best;
    return at < best_at;
  }
};

// A reduction over the axes in `Mask` (bit d: axis d of the operand).
template <class Kind, unsigned Mask, bool KeepDims>
struct reduce : Kind {
  using kind_type = Kind;
  static constexpr node_kind kind = node_kind::reduction;
  static constexpr std::size_t arity = 1;
  static constexpr unsigned axes = Mask;
  static constexpr bool keepdims = KeepDims;

  static constexpr bool reduces(std::size_t d) { return (Mask >> d) & 1u; }

  template <class E>
  static constexpr auto result_dims() {
    constexpr std::size_t kept = [] {
      std::size_t n = 0;
      // `!=`, not `<`: E::rank may be 0, where nvcc warns that `d < 0` is pointless.
      for (std::size_t d = 0; d != E::rank; ++d) n += KeepDims || !reduces(d);
      return n;
    }();
    std::array<std::size_t, kept> dims{};
    std::size_t n = 0;
    for (std::size_t d = 0; d != E::rank; ++d)
      if (!reduces(d))
        dims[n++] = E::dims[d];
      else if (KeepDims)
        dims[n++] = 1;
    return dims;
  }
  template <class E>
  using result_extents =
      typename detail::extents_from<result_dims<E>(),
                                    std::make_index_sequence<result_dims<E>().size()>>::type;

  static shape result_shape(const shape& in) {
    shape r;
    for (std::size_t d = 0; d < in.rank; ++d)
      if (!reduces(d))
        r.dims[r.rank++] = in.dims[d];
      else if (KeepDims)
        r.dims[r.rank++] = 1;
    return r;
  }
};

template <class Op>
inline constexpr bool is_reduce_v = false;
template <class Kind, unsigned Mask, bool KeepDims>
inline constexpr bool is_reduce_v<reduce<Kind, Mask, KeepDims>> = true;

}  // namespace ops
}  // namespace loom
