#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "loom/graph/flatten.hpp"
#include "loom/graph/node_kind.hpp"
#include "loom/graph/node_table.hpp"
#include "loom/graph/ops/binary.hpp"
#include "loom/graph/ops/compare.hpp"
#include "loom/graph/ops/matmul.hpp"
#include "loom/graph/ops/reduce.hpp"
#include "loom/graph/ops/select.hpp"
#include "loom/graph/ops/unary.hpp"
#include "loom/graph/plan.hpp"
#include "loom/interop/onnx/state.hpp"

// Runs of loom nodes that are one ONNX op: loom's composites build ordinary nodes (so they
// fuse and differentiate like user code), and the exporter finds them again by their shape
// to write the op ONNX has for them: Softmax and LogSoftmax over one axis, LayerNormalization
// with a scale and bias, Gemm for a 2-D matmul plus a bias used nowhere else. The nodes they
// replace are left unused and dropped (writer::drop_unused). Floating-point dtypes only, with
// no casts inside; anything else keeps its node-by-node form.
namespace loom::onnx_export {

enum class fused_op { none, gemm, softmax, log_softmax, layer_norm };

inline constexpr std::size_t no_node = ~std::size_t(0);

template <class G, std::size_t J, class Op>
constexpr bool op_is() {
  if constexpr (J >= G::node_count)
    return false;
  else
    return std::is_same_v<typename node_t<G, J>::op_type, Op>;
}

// Operand A of node J, or no_node.
template <class G, std::size_t J, std::size_t A>
constexpr std::size_t arg() {
  if constexpr (J >= G::node_count)
    return no_node;
  else if constexpr (A >= node_t<G, J>::arity)
    return no_node;
  else
    return node_t<G, J>::args[A];
}

// How often node J's value is read: as an operand (from the graph's node table), or as an
// output.
template <class G, std::size_t J>
constexpr std::size_t uses() {
  std::size_t n = 0;
  for (const node_info& node : node_table<G>)
    for (std::size_t a = 0; a < node.arity; ++a) n += node.args[a] == J;
  for (std::size_t o : G::outputs) n += o == J;
  return n;
}

// The axes of a reduction of Kind with keepdims (0: J is none).
template <class Op, class Kind>
inline constexpr unsigned kept_axes = 0;
template <class Kind, unsigned Mask>
inline constexpr unsigned kept_axes<ops::reduce<Kind, Mask, true>, Kind> = Mask;
template <class G, std::size_t J, class Kind>
constexpr unsigned kept_axes_of() {
  if constexpr (J >= G::node_count)
    return 0;
  else
    return kept_axes<typename node_t<G, J>::op_type, Kind>;
}

// x minus its shift over one axis: the first node of softmax and log_softmax.
struct shifted {
  std::size_t x = no_node;
  unsigned axes = 0;
};

// Whether node J is the literal `value`.
template <class G, std::size_t J>
constexpr bool literal_is(double value) {
  if constexpr (J >= G::node_count)
    return false;
  else if constexpr (kind_of<node_t<G, J>>() != node_kind::literal)
    return false;
  else
    return double(node_t<G, J>::op_type::value) == value;
}

// D = x - where(m == -inf, 0, minimum(m, largest)), m = max over the axes of x, kept
// (detail::finite_max).
template <class G, std::size_t D>
constexpr shifted shifted_at() {
  constexpr std::size_t w = arg<G, D, 1>();
  constexpr std::size_t c = arg<G, w, 0>(), f = arg<G, w, 2>();
  constexpr std::size_t m = arg<G, c, 0>();
  constexpr unsigned axes = kept_axes_of<G, m, ops::max_with_identity_kind>();
  if constexpr (op_is<G, D, ops::sub>() && op_is<G, w, ops::where>() && op_is<G, c, ops::equal>() &&
                op_is<G, f, ops::minimum>() && arg<G, f, 0>() == m && axes != 0 &&
                arg<G, m, 0>() == arg<G, D, 0>()) {
    using T = typename node_t<G, m>::value_type;
    if constexpr (literal_is<G, arg<G, c, 1>()>(-std::numeric_limits<double>::infinity()) &&
                  literal_is<G, arg<G, w, 1>()>(0) &&
                  literal_is<G, arg<G, f, 1>()>(double(std::numeric_limits<T>::max())))
      return {arg<G, D, 0>(), axes};
    else
      return {};
  } else {
    return {};
  }
}

// I = e / sum(e), e = exp(D), over D's axis.
template <class G, std::size_t I>
constexpr shifted softmax_at() {
  constexpr std::size_t e = arg<G, I, 0>(), s = arg<G, I, 1>();
  constexpr shifted d = shifted_at<G, arg<G, e, 0>()>();
  if constexpr (op_is<G, I, ops::div>() && op_is<G, e, ops::exp>() && arg<G, s, 0>() == e &&
                kept_axes_of<G, s, ops::sum_kind>() == d.axes && std::has_single_bit(d.axes))
    return d;
  else
    return {};
}

// I = D - log(sum(exp(D))), over D's axis.
template <class G, std::size_t I>
constexpr shifted log_softmax_at() {
  constexpr std::size_t d = arg<G, I, 0>(), l = arg<G, I, 1>();
  constexpr std::size_t s = arg<G, l, 0>(), e = arg<G, s, 0>();
  constexpr shifted match = shifted_at<G, d>();
  if constexpr (op_is<G, I, ops::sub>() && op_is<G, l, ops::log>() && op_is<G, e, ops::exp>() &&
                arg<G, e, 0>() == d && kept_axes_of<G, s, ops::sum_kind>() == match.axes &&
                std::has_single_bit(match.axes))
    return match;
  else
    return {};
}

// Whether node C broadcasts into node R's extents for every input, one way (as ONNX's Gemm
// bias and LayerNormalization scale must): on each of C's axes, R's extent is static (so C's
// is it or 1), C's is 1, or the plan knows them equal (fusion_plan::symbolic: the same
// loom::dims name). Two unrelated dyn extents may be 1 and n either way round at run time.
template <class G, std::size_t C, std::size_t R>
constexpr bool broadcasts_into() {
  constexpr auto& names = fusion_plan<G>::symbolic;
  using EC = typename node_t<G, C>::extents_type;
  using ER = typename node_t<G, R>::extents_type;
  if (EC::rank > ER::rank) return false;
  for (std::size_t k = 1; k <= EC::rank; ++k) {
    const std::size_t c = EC::rank - k, r = ER::rank - k;
    if (ER::dims[r] != dyn || EC::dims[c] == 1 || names[C][c] == names[R][r]) continue;
    return false;
  }
  return true;
}

// layer_norm(x, gamma, beta, eps): I = c * rsqrt(mean(square(c)) + eps) * gamma + beta,
// c = x - mean(x), both means over the last axis, kept; gamma and beta of rank 1, each
// broadcasting into x's last axis.
struct layer_norm_nodes {
  std::size_t x = no_node, gamma = no_node, beta = no_node, eps = no_node;
};
template <class G, std::size_t I>
constexpr layer_norm_nodes layer_norm_at() {
  constexpr std::size_t scaled = arg<G, I, 0>(), normed = arg<G, scaled, 0>();
  constexpr std::size_t c = arg<G, normed, 0>(), r = arg<G, normed, 1>();
  constexpr std::size_t var_eps = arg<G, r, 0>(), var = arg<G, var_eps, 0>();
  constexpr std::size_t sq = arg<G, var, 0>(), mean = arg<G, c, 1>(), x = arg<G, c, 0>();
  constexpr std::size_t gamma = arg<G, scaled, 1>(), beta = arg<G, I, 1>(),
                        eps = arg<G, var_eps, 1>();
  if constexpr (op_is<G, I, ops::add>() && op_is<G, scaled, ops::mul>() &&
                op_is<G, normed, ops::mul>() && op_is<G, c, ops::sub>() &&
                op_is<G, r, ops::rsqrt>() && op_is<G, var_eps, ops::add>() &&
                op_is<G, sq, ops::square>() && arg<G, sq, 0>() == c && arg<G, mean, 0>() == x) {
    using X = typename node_t<G, x>::extents_type;
    constexpr unsigned last = 1u << (X::rank - 1);
    constexpr node_kind eps_kind = kind_of<node_t<G, eps>>();
    if constexpr (kept_axes_of<G, mean, ops::mean_kind>() == last &&
                  kept_axes_of<G, var, ops::mean_kind>() == last &&
                  node_t<G, gamma>::extents_type::rank == 1 &&
                  node_t<G, beta>::extents_type::rank == 1 && broadcasts_into<G, gamma, x>() &&
                  broadcasts_into<G, beta, x>() &&
                  std::is_same_v<typename node_t<G, I>::extents_type, X> &&
                  (eps_kind == node_kind::scalar || eps_kind == node_kind::literal))
      return {x, gamma, beta, eps};
    else
      return {};
  } else {
    return {};
  }
}

// Nodes J all of one floating-point dtype: no casts inside a run (false where one is
// no_node).
template <class G, std::size_t... J>
constexpr bool one_float_dtype() {
  if constexpr (((J >= G::node_count) || ...)) {
    return false;
  } else {
    using T = typename node_t<G, std::array{J...}[0]>::value_type;
    return std::is_floating_point_v<T> &&
           (std::is_same_v<typename node_t<G, J>::value_type, T> && ...);
  }
}

// I = matmul(a, b) + c, or c + matmul(a, b): a and b of rank 2, the product read only here, c
// of rank 2 or less broadcasting into the product.
template <class G, std::size_t I, std::size_t A>
constexpr bool gemm_operand() {
  constexpr std::size_t p = arg<G, I, A>();
  if constexpr (!op_is<G, I, ops::add>() || !op_is<G, p, ops::matmul>())
    return false;
  else
    return node_t<G, arg<G, p, 0>()>::extents_type::rank == 2 &&
           node_t<G, arg<G, p, 1>()>::extents_type::rank == 2 &&
           node_t<G, arg<G, I, 1 - A>()>::extents_type::rank <= 2 &&
           broadcasts_into<G, arg<G, I, 1 - A>(), p>() && uses<G, p>() == 1 &&
           one_float_dtype<G, I, p, arg<G, p, 0>(), arg<G, p, 1>(), arg<G, I, 1 - A>()>();
}

// The op each run ends in (div, sub, add) picks the patterns to try, so that every other node
// costs the compiler one type comparison.
template <class G, std::size_t I>
constexpr fused_op fused_at() {
  using Op = typename node_t<G, I>::op_type;
  if constexpr (std::is_same_v<Op, ops::div>) {
    if constexpr (softmax_at<G, I>().x != no_node && one_float_dtype<G, I, softmax_at<G, I>().x>())
      return fused_op::softmax;
    else
      return fused_op::none;
  } else if constexpr (std::is_same_v<Op, ops::sub>) {
    if constexpr (log_softmax_at<G, I>().x != no_node &&
                  one_float_dtype<G, I, log_softmax_at<G, I>().x>())
      return fused_op::log_softmax;
    else
      return fused_op::none;
  } else if constexpr (std::is_same_v<Op, ops::add>) {
    if constexpr (constexpr layer_norm_nodes n = layer_norm_at<G, I>();
                  n.x != no_node && one_float_dtype<G, I, n.x, n.gamma, n.beta>())
      return fused_op::layer_norm;
    else if constexpr (gemm_operand<G, I, 0>() || gemm_operand<G, I, 1>())
      return fused_op::gemm;
    else
      return fused_op::none;
  } else {
    return fused_op::none;
  }
}

// Whether node I is written as its fused op: not a layer norm whose eps is to be a graph
// input (scalars_as_inputs), since LayerNormalization takes eps as an attribute.
template <class G, std::size_t I>
bool fuses(const export_state& s) {
  if constexpr (fused_at<G, I>() == fused_op::layer_norm)
    return !s.scalars_as_inputs ||
           kind_of<node_t<G, layer_norm_at<G, I>().eps>>() != node_kind::scalar;
  else
    return fused_at<G, I>() != fused_op::none;
}

template <class G, std::size_t I>
std::string export_fused(export_state& s, const G& g) {
  constexpr fused_op op = fused_at<G, I>();
  const std::string hint = "%" + std::to_string(I);
  if constexpr (op == fused_op::softmax || op == fused_op::log_softmax) {
    constexpr shifted m = op == fused_op::softmax ? softmax_at<G, I>() : log_softmax_at<G, I>();
    ::onnx::NodeProto& n =
        s.w.node(op == fused_op::softmax ? "Softmax" : "LogSoftmax", {s.values[m.x]}, hint);
    writer::attribute(n, "axis", std::int64_t(std::countr_zero(m.axes)));
    return writer::output_of(n);
  } else if constexpr (op == fused_op::layer_norm) {
    constexpr layer_norm_nodes m = layer_norm_at<G, I>();
    double eps = 0;
    if constexpr (kind_of<node_t<G, m.eps>>() == node_kind::scalar)
      eps = double(node_at<m.eps>(g.nodes).op.value);
    else
      eps = double(node_t<G, m.eps>::op_type::value);
    ::onnx::NodeProto& n =
        s.w.node("LayerNormalization", {s.values[m.x], s.values[m.gamma], s.values[m.beta]}, hint);
    writer::attribute(n, "axis", std::int64_t(-1));
    writer::attribute(n, "epsilon", float(eps));
    // stash_type stays 1 (f32), the default: ONNX's own expansion of the op computes the
    // statistics of f64 inputs in f32 there, onnxruntime in f64 (which loom's tests run).
    return writer::output_of(n);
  } else {
    static_assert(op == fused_op::gemm);
    constexpr std::size_t a = gemm_operand<G, I, 0>() ? 0 : 1;
    constexpr std::size_t p = arg<G, I, a>();
    return writer::output_of(
        s.w.node("Gemm",
                 {s.values[arg<G, p, 0>()], s.values[arg<G, p, 1>()], s.values[arg<G, I, 1 - a>()]},
                 hint));
  }
}

}  // namespace loom::onnx_export
