#pragma once

// The attention-style block of attention.cpp and onnx/attention_onnx.cpp: scores =
// (x Wq)(x Wk)^T / sqrt(d), softmax over keys, times x Wv, plus the residual x, then layer norm.

#include <loom/loom.hpp>

#include <cmath>
#include <cstddef>
#include <random>

namespace example {

inline constexpr std::size_t d = 32;

// `dim`: the model width the scores are scaled for (the inputs' extents fix the rest).
inline auto attention_block(std::size_t dim = d) {
  const float scale = 1 / std::sqrt(float(dim));
  return [scale](auto x, auto wq, auto wk, auto wv, auto gamma, auto beta) {
    auto q = loom::matmul(x, wq);
    auto k = loom::matmul(x, wk);
    auto v = loom::matmul(x, wv);
    // The scale is a run-time float: softmax reads the scores several times, and those
    // copies are one node, as with a loom::lit (the guide's "Run-time scalars and reuse").
    auto p = loom::softmax(loom::matmul(q, loom::transpose(k)) * scale);
    return loom::layer_norm(loom::matmul(p, v) + x, gamma, beta, 1e-5);
  };
}

using tokens_input = loom::input<float, loom::extents<loom::dyn, d>>;
using weights_input = loom::input<float, loom::extents<d, d>>;
using vector_input = loom::input<float, loom::extents<d>>;

inline auto compile_attention_block() {
  return loom::compile(attention_block(),
                       tokens_input{},
                       weights_input{},
                       weights_input{},
                       weights_input{},
                       vector_input{},
                       vector_input{});
}

// The block's inputs for `tokens` tokens, drawn from a fixed seed.
struct attention_inputs {
  loom::tensor<float, loom::extents<loom::dyn, d>> x;
  loom::tensor<float, loom::extents<d, d>> wq, wk, wv;
  loom::tensor<float, loom::extents<d>> gamma, beta;

  explicit attention_inputs(std::size_t tokens) : x(tokens) {
    std::mt19937 gen(11);
    std::normal_distribution<float> normal(0.f, 1.f);
    auto fill = [&](auto& t, float scale, float shift = 0) {
      for (auto& e : t) e = normal(gen) * scale + shift;
    };
    fill(x, 1.f);
    for (auto* w : {&wq, &wk, &wv}) fill(*w, 1.f / std::sqrt(float(d)));
    fill(gamma, 0.1f, 1.f);
    fill(beta, 0.1f);
  }
};

}  // namespace example
