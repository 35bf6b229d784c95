// The GPU's lanes (include/loom/backends/cuda/lanes.hpp) run on the host: their functions are
// __host__ __device__, so the half-precision paths that every CUDA kernel takes (loads that
// widen bf16 and f16 to f32, stores and conversions that round, round<T>) are checked here
// against core/half.hpp's scalar conversions on every machine, GPU or not. Packs of eight,
// as kernels of graphs with half-precision values use.
#include <catch2/catch.hpp>
#include <loom/backends/cuda/lanes.hpp>
#include <loom/loom.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>

#include "../common/compare.hpp"

using loom::bf16;
using loom::f16;

namespace {

using lanes = loom::cuda::thread_lanes<8>;
// f32 values equal bit for bit, or both NaN (as doubles: exactly their floats).
using loom_test::same;

}  // namespace

TEMPLATE_TEST_CASE("the GPU's lanes widen, round and store half precision as the CPU does",
                   "[half][cuda]",
                   bf16,
                   f16) {
  using H = TestType;
  std::mt19937 gen(5);
  std::uniform_int_distribution<std::uint32_t> bits;
  std::size_t wrong = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    // Every 16-bit pattern (NaN, infinities and subnormals included) over the trials, and a
    // float of any bits to round.
    alignas(16) H stored[16];
    for (int k = 0; k < 16; ++k) stored[k] = H::from_bits(std::uint16_t(trial * 16 + k));
    const auto dense = lanes::load(stored, 1);
    const auto strided = lanes::load(stored, 2);
    const auto broadcast = lanes::load(stored + 3, 0);
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(dense.lane[0])>, float>);
    lanes::value<H> wide, rounded;
    lanes::value<double> doubles;
    for (int k = 0; k < 8; ++k) {
      wrong += !same(dense.lane[k], float(stored[k]));
      wrong += !same(strided.lane[k], float(stored[2 * k]));
      wrong += !same(broadcast.lane[k], float(stored[3]));
      wide.lane[k] = std::bit_cast<float>(bits(gen));
      doubles.lane[k] = double(wide.lane[k]) * (1 + 0x1p-30);
    }
    rounded = wide;
    lanes::round<H>(rounded);
    alignas(16) H out[8];
    lanes::store(out, wide);
    const auto from_double = lanes::convert<H>(doubles);
    const auto to_int = lanes::convert<std::int32_t>(dense);
    for (int k = 0; k < 8; ++k) {
      const H want = H(wide.lane[k]);
      wrong += !same(rounded.lane[k], float(want));
      wrong += std::isnan(float(want)) ? !std::isnan(float(out[k])) : out[k].bits != want.bits;
      // From f64, through f32 as the CPU's lanes convert.
      wrong += !same(from_double.lane[k], float(H(float(doubles.lane[k]))));
      if (std::isfinite(dense.lane[k]) && std::abs(dense.lane[k]) < 1e9f)
        wrong += to_int.lane[k] != std::int32_t(dense.lane[k]);
    }
  }
  CHECK(wrong == 0);
  // An op's result is computed in f32 and left for the evaluator to round.
  lanes::value<H> a = lanes::splat(H(1.5f)), b = lanes::splat(H(0x1p-9f));
  const auto sum = lanes::apply<H>(loom::ops::add{}, a, b);
  CHECK(sum.lane[0] == 1.5f + 0x1p-9f);
}
