#pragma once

#include <cstddef>
#include <cstdint>

#include "loom/core/config.hpp"
#include "loom/graph/ops/reduce.hpp"

namespace loom::cuda {

// One GPU thread's part of a reduction: its elements folded with the reduction's combine op
// (the element-wise op's own scalar function), then merged with the other threads' parts.
template <class Kind, class T>
struct device_fold {
  using combine = typename Kind::combine;
  T value = Kind::template identity<T>();

  LOOM_HD_INLINE void add(T x, std::size_t) { value = combine::scalar(value, x); }
  LOOM_HD_INLINE void merge(const device_fold& other) {
    value = combine::scalar(value, other.value);
  }
  template <class Shuffle>
  LOOM_HD_INLINE device_fold exchange(Shuffle&& shuffle) const {
    device_fold o;
    o.value = shuffle(value);
    return o;
  }
  template <class R>
  LOOM_HD_INLINE R result(std::size_t count) const {
    return static_cast<R>(Kind::finish(value, count));
  }
};

// argmax: the best value and where it was (argmax_kind::beats says which wins).
template <class T>
struct device_fold<ops::argmax_kind, T> {
  T best{};
  std::int64_t where = -1;

  LOOM_HD_INLINE void add(T x, std::size_t at) {
    if (where < 0 || ops::argmax_kind::beats(x, std::int64_t(at), best, where)) {
      best = x;
      where = std::int64_t(at);
    }
  }
  LOOM_HD_INLINE void merge(const device_fold& o) {
    if (o.where >= 0 && (where < 0 || ops::argmax_kind::beats(o.best, o.where, best, where)))
      *this = o;
  }
  template <class Shuffle>
  LOOM_HD_INLINE device_fold exchange(Shuffle&& shuffle) const {
    device_fold o;
    o.best = shuffle(best);
    o.where = shuffle(where);
    return o;
  }
  template <class R>
  LOOM_HD_INLINE R result(std::size_t) const {
    return static_cast<R>(where < 0 ? 0 : where);
  }
};

#if defined(__CUDACC__)
// Merges the folds of each aligned group of `Width` lanes of a warp into every lane of the
// group, by butterfly exchange.
template <unsigned Width, class Fold>
__device__ __forceinline__ Fold warp_merge(Fold f) {
#pragma unroll
  for (int offset = Width / 2; offset > 0; offset /= 2)
    f.merge(f.exchange([&](auto x) { return __shfl_xor_sync(0xffffffffu, x, offset); }));
  return f;
}

// Merges the folds of a whole block (a multiple of 32 threads) into thread 0's result.
template <class Fold>
__device__ __forceinline__ Fold block_merge(Fold f) {
  // Raw storage: a __shared__ array of a class with initialisers is not allowed.
  __shared__ alignas(Fold) unsigned char storage[32 * sizeof(Fold)];
  Fold* partial = reinterpret_cast<Fold*>(storage);
  const unsigned warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  f = warp_merge<32>(f);
  if (lane == 0) partial[warp] = f;
  __syncthreads();
  if (warp == 0) {
    f = lane < blockDim.x / 32 ? partial[lane] : Fold{};
    f = warp_merge<32>(f);
  }
  __syncthreads();
  return f;
}
#endif

}  // namespace loom::cuda
