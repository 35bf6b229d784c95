#pragma once

#include <Eigen/Core>
#if (defined(__SSE2__) || defined(__AVX__)) && !defined(__CUDA_ARCH__)
#include <immintrin.h>
#endif
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>
#include <unsupported/Eigen/SpecialFunctions>

namespace loom::cpu {

// The processor's own square root of a packet, where the target has one: correctly rounded
// for every input (zeros, subnormals, infinities, NaN), where Eigen's fast-math psqrt is an
// estimate refined by a Newton step that is exact only for positive normal numbers.
// (Host code only: nvcc's device pass has no x86 intrinsics, and leaves their calls out.)
namespace detail {
#if defined(__SSE2__) && !defined(__CUDA_ARCH__)
inline __m128 hardware_sqrt(__m128 x) {
  return _mm_sqrt_ps(x);
}
inline __m128d hardware_sqrt(__m128d x) {
  return _mm_sqrt_pd(x);
}
#endif
#if defined(__AVX__) && !defined(__CUDA_ARCH__)
inline __m256 hardware_sqrt(__m256 x) {
  return _mm256_sqrt_ps(x);
}
inline __m256d hardware_sqrt(__m256d x) {
  return _mm256_sqrt_pd(x);
}
#endif
#if defined(__AVX512F__) && !defined(__CUDA_ARCH__)
inline __m512 hardware_sqrt(__m512 x) {
  return _mm512_sqrt_ps(x);
}
inline __m512d hardware_sqrt(__m512d x) {
  return _mm512_sqrt_pd(x);
}
#endif

// GCC's and Clang's vector types for a packet of `Lanes` values of T, and for a mask of as
// many integers as wide (all ones or all zeros), which comparisons of such vectors give.
template <class T, int Lanes>
struct packet_vectors {
  using mask_lane = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
  typedef mask_lane mask __attribute__((vector_size(Lanes * sizeof(T))));
  typedef T value __attribute__((vector_size(Lanes * sizeof(T))));
};
}  // namespace detail

// W elements of one node in the fused loop: an aligned array whose operations each run one of
// Eigen's functors (scalar_sum_op, scalar_exp_op, ...) over it, a packet at a time where the
// functor has a packet form, else lane by lane through its scalar form, as Eigen's own arrays
// evaluate them. The member names are those of Eigen's arrays, which ops' SIMD forms call.
//
// Why not Eigen::Array<T, W, 1>: its expression templates instantiate evaluators, assignment
// kernels and unrollers per expression type (about 1500 of the 2500 functions of an eager
// softmax at -O0); with this type W4's softmax file compiles 15-18 % faster (docs/benchmarks.md,
// W8). Here each operation is one loop, evaluated at once into a new block; the compiler keeps
// the blocks of a step in registers or on the stack as it did Eigen's.
template <class T, int W>
struct block {
  using Scalar = T;
  using PlainObject = block;

  // Aligned as Eigen aligns its packets, so that whole packets load and store aligned.
  alignas(Eigen::internal::packet_traits<T>::size * sizeof(T)) T lane[W];

  // Uninitialised, as a plain array: a step holds one block per node of the graph in a
  // std::tuple, whose default constructor value-initialises its elements, and zeroing the
  // blocks of nodes a step never touches cost a quarter of a training step's time.
  block() {}

  // Every write of a block stores whole packets (pset1 here, from_lanes below): a block
  // written in narrower pieces than the packets that read it back makes each read wait for
  // the stores to drain instead of forwarding them.
  static block Constant(T x) {
    if constexpr (packets)
      return from_packets([x](int) { return Eigen::internal::pset1<packet>(x); });
    else
      return from_lanes([x](int) { return x; });
  }
  // Lane k is f(k). Where T has packets, each packet's lanes are built in a vector register
  // (GCC's and Clang's vector extension) and stored whole: a plain loop is vectorised as the
  // compiler prefers, 256 bits wide on AVX-512 machines, so the packets reading it back would
  // wait (W3's opaque call ran at 0.4 of the hand loop). Unlike an `omp simd` loop, an
  // exception from f still reaches the caller.
  template <class F>
  static block from_lanes(F f) {
    block r;
    if constexpr (packets && !std::is_same_v<T, bool>) {
      typedef T vector __attribute__((vector_size(packet_size * sizeof(T))));
      for (int k = 0; k < W; k += packet_size) {
        vector v{};
        for (int j = 0; j < packet_size; ++j) v[j] = f(k + j);
        std::memcpy(r.lane + k, &v, sizeof v);
      }
    } else {
      for (int k = 0; k < W; ++k) r.lane[k] = f(k);
    }
    return r;
  }
  // W consecutive elements from `p`, which need not be aligned.
  static block load(const T* p) {
    if constexpr (packets)
      return from_packets([p](int k) { return Eigen::internal::ploadu<packet>(p + k); });
    else
      return from_lanes([p](int k) { return p[k]; });
  }
  void store(T* p) const {
    if constexpr (packets)
      for (int k = 0; k < W; k += packet_size) Eigen::internal::pstoreu(p + k, packet_at(k));
    else
      for (int k = 0; k < W; ++k) p[k] = lane[k];
  }

  T* data() { return lane; }
  static constexpr int size() { return W; }
  const T* data() const { return lane; }
  T& operator[](int k) { return lane[k]; }
  T operator[](int k) const { return lane[k]; }

  // f on each lane: f.packetOp per packet where Eigen's traits say f has one, else f(x).
  template <class F>
  block unaryExpr(F f) const {
    if constexpr (packets && Eigen::internal::functor_traits<F>::PacketAccess)
      return from_packets([&](int k) { return f.packetOp(packet_at(k)); });
    else
      return from_lanes([&](int k) { return f(lane[k]); });
  }
  template <class F>
  block binaryExpr(const block& b, F f) const {
    if constexpr (packets && Eigen::internal::functor_traits<F>::PacketAccess)
      return from_packets([&](int k) { return f.packetOp(packet_at(k), b.packet_at(k)); });
    else
      return from_lanes([&](int k) { return f(lane[k], b.lane[k]); });
  }

  // static_cast per lane: what Eigen's vectorised casts compute too (the casts whose
  // instruction differs, floating point to i32 out of range, never come here: ops::cast).
  template <class U>
  block<U, W> cast() const {
    return block<U, W>::from_lanes([&](int k) { return static_cast<U>(lane[k]); });
  }
  // Where this block holds, a's lane, else b's (a block of bool). Blended a packet at a time
  // through a mask of lane-sized integers where U has one (see mask_packets).
  template <class U>
  block<U, W> select(const block<U, W>& a, const block<U, W>& b) const {
    using values = block<U, W>;
    if constexpr (std::is_same_v<T, bool> && values::mask_packets) {
      using mask = typename values::vectors::mask;
      using mask_lane = typename values::vectors::mask_lane;
      values r;
      for (int k = 0; k < W; k += values::packet_size) {
        mask m;
        for (int j = 0; j < values::packet_size; ++j) m[j] = -mask_lane(lane[k + j]);
        const mask bits =
            (a.template vector_at<mask>(k) & m) | (b.template vector_at<mask>(k) & ~m);
        std::memcpy(r.lane + k, &bits, sizeof bits);
      }
      return r;
    } else {
      return values::from_lanes([&](int k) { return lane[k] ? a.lane[k] : b.lane[k]; });
    }
  }

  template <int N>
  block<T, N> head() const {
    return block<T, N>::load(lane);
  }
  template <int N>
  block<T, N> tail() const {
    return block<T, N>::load(lane + (W - N));
  }

  block abs() const { return unaryExpr(Eigen::internal::scalar_abs_op<T>{}); }
  block square() const { return unaryExpr(Eigen::internal::scalar_square_op<T>{}); }
  block exp() const { return unaryExpr(Eigen::internal::scalar_exp_op<T>{}); }
  block log() const { return unaryExpr(Eigen::internal::scalar_log_op<T>{}); }
  // Whether sqrt() is exact for every input (ops::sqrt then needs no range check).
  static constexpr bool has_exact_sqrt() {
#if defined(__CUDA_ARCH__)
    return false;
#else
    if constexpr (packets) return requires(packet p) {
        detail::hardware_sqrt(p);
      };
    else
      return false;
#endif
  }
  block sqrt() const {
#if !defined(__CUDA_ARCH__)
    if constexpr (has_exact_sqrt())
      return from_packets([this](int k) { return detail::hardware_sqrt(packet_at(k)); });
    else
#endif
      return unaryExpr(Eigen::internal::scalar_sqrt_op<T>{});
  }
  block rsqrt() const {
    return unaryExpr(Eigen::internal::scalar_rsqrt_op<T>{});
  }
  block sin() const {
    return unaryExpr(Eigen::internal::scalar_sin_op<T>{});
  }
  block cos() const {
    return unaryExpr(Eigen::internal::scalar_cos_op<T>{});
  }
  block tanh() const {
    return unaryExpr(Eigen::internal::scalar_tanh_op<T>{});
  }
  block erf() const {
    return unaryExpr(Eigen::internal::scalar_erf_op<T>{});
  }
  // max(lane, x), Eigen's: the lane where either is NaN.
  block max(T x) const {
    return binaryExpr(Constant(x), Eigen::internal::scalar_max_op<T, T>{});
  }

  T sum() const {
    return fold(Eigen::internal::scalar_sum_op<T, T>{});
  }
  T prod() const {
    return fold(Eigen::internal::scalar_product_op<T, T>{});
  }
  // The least and the greatest lane that is a number: NaN lanes are skipped, so that a NaN
  // cannot hide an infinity or a zero from an op's range check (ops::vectorised_in_range);
  // with Eigen's default, a max that meets a NaN keeps whichever operand the instruction
  // returns. All lanes NaN gives NaN.
  T minCoeff() const {
    return fold(Eigen::internal::scalar_min_op<T, T, Eigen::PropagateNumbers>{});
  }
  T maxCoeff() const {
    return fold(Eigen::internal::scalar_max_op<T, T, Eigen::PropagateNumbers>{});
  }

  friend block operator+(const block& a, const block& b) {
    return a.binaryExpr(b, Eigen::internal::scalar_sum_op<T, T>{});
  }
  friend block operator-(const block& a, const block& b) {
    return a.binaryExpr(b, Eigen::internal::scalar_difference_op<T, T>{});
  }
  friend block operator*(const block& a, const block& b) {
    return a.binaryExpr(b, Eigen::internal::scalar_product_op<T, T>{});
  }
  friend block operator/(const block& a, const block& b) {
    return a.binaryExpr(b, Eigen::internal::scalar_quotient_op<T, T>{});
  }
  friend block operator-(const block& a) {
    return a.unaryExpr(Eigen::internal::scalar_opposite_op<T>{});
  }
  // With one scalar operand: the scalar in every lane, as Eigen's arrays broadcast it.
  friend block operator+(T a, const block& b) {
    return Constant(a) + b;
  }
  friend block operator*(T a, const block& b) {
    return Constant(a) * b;
  }
  friend block operator*(const block& a, T b) {
    return a * Constant(b);
  }
  friend block operator/(T a, const block& b) {
    return Constant(a) / b;
  }

  friend block<bool, W> operator<(const block& a, const block& b) {
    return compare(a, b, std::less<>{});
  }
  friend block<bool, W> operator<=(const block& a, const block& b) {
    return compare(a, b, std::less_equal<>{});
  }
  friend block<bool, W> operator>(const block& a, const block& b) {
    return compare(a, b, std::greater<>{});
  }
  friend block<bool, W> operator>=(const block& a, const block& b) {
    return compare(a, b, std::greater_equal<>{});
  }
  friend block<bool, W> operator==(const block& a, const block& b) {
    return compare(a, b, std::equal_to<>{});
  }
  friend block<bool, W> operator!=(const block& a, const block& b) {
    return compare(a, b, std::not_equal_to<>{});
  }

 private:
  template <class, int>
  friend struct block;  // select() blends another element type's packets

  using packet = typename Eigen::internal::packet_traits<T>::type;
  static constexpr int packet_size = Eigen::internal::packet_traits<T>::size;
  static constexpr bool packets =
      Eigen::internal::packet_traits<T>::Vectorizable && packet_size > 1 && W % packet_size == 0;

  // Whether comparisons and select() work a packet at a time, on masks of integers as wide as
  // a lane (GCC's and Clang's vector extension). Lane by lane, the bools of a comparison and
  // the blend of a select made relu's gradient, where(x > 0, g, 0), a pass 7x slower than
  // vectorised, the largest element-wise pass of a training step.
  static constexpr bool mask_packets =
      packets && !std::is_same_v<T, bool> && (sizeof(T) == 4 || sizeof(T) == 8);
  using vectors = detail::packet_vectors<T, packet_size>;  // named only where mask_packets

  // The packet at lane k as a vector V: of values, or of their bits.
  template <class V>
  V vector_at(int k) const {
    V v;
    std::memcpy(&v, lane + k, sizeof v);
    return v;
  }

  // The block whose packet at lane k (k a multiple of packet_size) is g(k): every packet
  // written whole.
  template <class G>
  static block from_packets(G g) {
    block r;
    for (int k = 0; k < W; k += packet_size) Eigen::internal::pstore(r.lane + k, g(k));
    return r;
  }
  packet packet_at(int k) const {
    return Eigen::internal::pload<packet>(lane + k);
  }

  template <class Compare>
  static block<bool, W> compare(const block& a, const block& b, Compare test) {
    if constexpr (mask_packets) {
      block<bool, W> r;
      for (int k = 0; k < W; k += packet_size) {
        using value = typename vectors::value;
        const auto m = test(a.template vector_at<value>(k), b.template vector_at<value>(k));
        for (int j = 0; j < packet_size; ++j) r.lane[k + j] = m[j] != 0;
      }
      return r;
    } else {
      return block<bool, W>::from_lanes([&](int k) { return test(a.lane[k], b.lane[k]); });
    }
  }

  // All lanes folded by f: packets combined in halves, then the last packet by f.predux (as
  // Eigen's vectorised redux ends); lane by lane where f has no packet form.
  template <class F>
  T fold(F f) const {
    if constexpr (packets && Eigen::internal::functor_traits<F>::PacketAccess) {
      constexpr int count = W / packet_size;
      packet p[count];
      for (int k = 0; k < count; ++k) p[k] = packet_at(k * packet_size);
      for (int n = count; n > 1; n = (n + 1) / 2)
        for (int k = 0; k < n / 2; ++k) p[k] = f.packetOp(p[k], p[k + (n + 1) / 2]);
      return f.predux(p[0]);
    } else {
      T r = lane[0];
      for (int k = 1; k < W; ++k) r = f(r, lane[k]);
      return r;
    }
  }
};

}  // namespace loom::cpu
