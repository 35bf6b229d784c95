#pragma once

// Seeded random fills of host tensors, shared by tests/unit and tests/cuda: the same seed
// gives the same values on every run and on both sides, so a failure reproduces. Values are
// drawn in double and converted to the element type. Host code only.

#include <loom/loom.hpp>

#include <cmath>
#include <cstdint>
#include <random>

namespace loom_test {

// Each element from dist(gen), in row-major order, with gen an std::mt19937 seeded with
// `seed`. `dist` is a standard distribution or any callable taking the generator.
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

// Integers in [lo, hi] (stored as T: integer-valued floats add exactly while the partial
// sums stay below 2^24, in any order).
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

}  // namespace loom_test
