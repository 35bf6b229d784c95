#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "loom/core/errors.hpp"
#include "loom/graph/flatten.hpp"
#include "loom/graph/node_kind.hpp"
#include "loom/graph/ops/reduce.hpp"
#include "loom/graph/ops/select.hpp"
#include "loom/graph/ops/view.hpp"
#include "loom/interop/onnx/fused_ops.hpp"
#include "loom/interop/onnx/state.hpp"
#include "loom/interop/onnx/writer.hpp"

// Each loom node as ONNX nodes (opset 17, 18 or 20), from what its op descriptor declares:
// `onnx`, an onnx_form for element-wise ops and matmul, the ONNX op's name for reductions,
// views and casts, whose parameters are written here; an allow_in_graph<F> by what F declares.
namespace loom::onnx_export {

template <class Op>
inline constexpr bool has_onnx_form = requires {
  Op::onnx.steps;
};
template <class Op>
inline constexpr bool has_onnx_native = requires {
  Op::onnx_native.since;
};
template <class Op>
inline constexpr bool is_cast = false;
template <dtype U>
inline constexpr bool is_cast<ops::cast<U>> = true;
// An element-wise op's ONNX spelling: an onnx_form, or a native op from some opset on (casts
// are written here). Named so that a failed check prints the op in the compiler's note.
template <class Op>
inline constexpr bool has_onnx_spelling = has_onnx_form<Op> || has_onnx_native<Op> || is_cast<Op>;

// The operands of node I, each converted to the dtype its op's signature computes in.
template <class G, std::size_t I, class R, class... O, std::size_t... A>
std::array<std::string, sizeof...(A)> converted_operands(export_state& s,
                                                         signature<R, O...>,
                                                         std::index_sequence<A...>) {
  using N = node_t<G, I>;
  const std::string hint = "%" + std::to_string(I);
  return {s.w.cast(s.values[N::args[A]],
                   elem_type<typename node_t<G, N::args[A]>::value_type>(),
                   elem_type<O>(),
                   hint)...};
}

template <class G, std::size_t I>
auto signature_of() {
  using N = node_t<G, I>;
  return [&]<std::size_t... A>(std::index_sequence<A...>) {
    return typename N::op_type::template signature<typename node_t<G, N::args[A]>::value_type...>{};
  }
  (std::make_index_sequence<N::arity>{});
}

template <class R, class... O>
R result_of(signature<R, O...>);
template <class R, class O0, class... O>
O0 first_operand_of(signature<R, O0, O...>);

// An op with an onnx_form: its steps, the first on the converted operands; or its native op,
// where the opset has it.
template <class G, std::size_t I>
std::string export_form(export_state& s) {
  using N = node_t<G, I>;
  using Op = typename N::op_type;
  using sig = decltype(signature_of<G, I>());
  using T = decltype(first_operand_of(sig{}));
  const std::string hint = "%" + std::to_string(I);
  const auto in = converted_operands<G, I>(s, sig{}, std::make_index_sequence<N::arity>{});
  std::span<const onnx_step> steps;
  if constexpr (has_onnx_form<Op>) steps = Op::onnx.steps;
  std::array<onnx_step, 1> native;
  if constexpr (has_onnx_native<Op>) {
    if (s.opset >= Op::onnx_native.since) {
      native[0] = onnx_step{Op::onnx_native.op};
      steps = native;
    } else if (steps.empty()) {
      throw export_error("loom: onnx export: the op " + std::string(Op::name) +
                         " has no ONNX spelling at opset " + std::to_string(s.opset) +
                         "; ONNX has it from opset " + std::to_string(Op::onnx_native.since));
    }
  }
  std::string value;
  for (std::size_t k = 0; k < steps.size(); ++k) {
    const onnx_step& step = steps[k];
    std::vector<std::string> args =
        k == 0 ? std::vector<std::string>(in.begin(), in.end()) : std::vector<std::string>{value};
    if (step.second == onnx_step::operand) args.push_back(in[0]);
    if (step.second == onnx_step::constant) args.push_back(s.w.scalar(static_cast<T>(step.value)));
    value = writer::output_of(s.w.node(step.op, args, hint));
  }
  using R = decltype(result_of(sig{}));
  return s.w.cast(value, elem_type<R>(), elem_type<typename N::value_type>(), hint);
}

// A reduction: ReduceSum takes its axes as an input, the others as an attribute before opset
// 18 and as an input from 18 on;
// ArgMax one axis (over all axes: of the operand flattened), and gives int64, cast to i32.
// The axes a bit mask names, in order (reductions, expand_dims).
inline std::vector<std::int64_t> axes_of_mask(unsigned mask) {
  std::vector<std::int64_t> axes;
  for (unsigned d = 0; mask >> d; ++d)
    if (mask >> d & 1u) axes.push_back(d);
  return axes;
}

template <class G, std::size_t I, class Kind, unsigned Mask, bool KeepDims>
std::string export_reduce(export_state& s, std::type_identity<ops::reduce<Kind, Mask, KeepDims>>) {
  using N = node_t<G, I>;
  using In = typename node_t<G, N::args[0]>::extents_type;
  using sig = decltype(signature_of<G, I>());
  const std::string hint = "%" + std::to_string(I);
  const std::string x = converted_operands<G, I>(s, sig{}, std::make_index_sequence<1>{})[0];
  const std::vector<std::int64_t> axes = axes_of_mask(Mask);
  std::string value;
  if constexpr (std::is_same_v<Kind, ops::argmax_kind>) {
    const bool all = axes.size() == In::rank && In::rank > 1;
    const std::string flat =
        all ? writer::output_of(s.w.node("Reshape", {x, s.w.int64s({-1})}, hint)) : x;
    ::onnx::NodeProto& n = s.w.node(Kind::onnx, {flat}, hint);
    writer::attribute(n, "axis", all || axes.empty() ? std::int64_t(0) : axes[0]);
    writer::attribute(n, "keepdims", std::int64_t(KeepDims));
    value = writer::output_of(n);
    if (all && KeepDims)
      value = writer::output_of(
          s.w.node("Reshape", {value, s.w.int64s(std::vector<std::int64_t>(In::rank, 1))}, hint));
    value = s.w.cast(value, ::onnx::TensorProto::INT64, elem_type<typename N::value_type>(), hint);
  } else if (axes.empty()) {  // over no axes: each element is its own sum, mean, max...
    using O = decltype(first_operand_of(sig{}));
    value = s.w.cast(x, elem_type<O>(), elem_type<typename N::value_type>(), hint);
  } else {
    const bool axes_input = Kind::onnx == std::string_view("ReduceSum") || s.opset >= 18;
    ::onnx::NodeProto& n = axes_input ? s.w.node(Kind::onnx, {x, s.w.int64s(axes)}, hint)
                                      : s.w.node(Kind::onnx, {x}, hint);
    if (!axes_input) writer::attribute(n, "axes", axes);
    writer::attribute(n, "keepdims", std::int64_t(KeepDims));
    using R = decltype(result_of(sig{}));
    value =
        s.w.cast(writer::output_of(n), elem_type<R>(), elem_type<typename N::value_type>(), hint);
  }
  return value;
}

template <extents_type E>
std::vector<std::int64_t> extents_with(std::int64_t for_dyn) {
  std::vector<std::int64_t> v;
  for (std::size_t d = 0; d != E::rank; ++d)
    v.push_back(E::dims[d] == dyn ? for_dyn : std::int64_t(E::dims[d]));
  return v;
}

// Views: a reshape's one dynamic extent is -1 (inferred, as loom infers it); a broadcast's is
// 1 (Expand keeps the operand's extent there); a slice's open end is INT64_MAX.
template <class G, std::size_t I, extents_type To>
std::string export_view(export_state& s,
                        std::type_identity<ops::reshape<To>>,
                        const std::string& x) {
  return writer::output_of(
      s.w.node("Reshape", {x, s.w.int64s(extents_with<To>(-1))}, "%" + std::to_string(I)));
}
template <class G, std::size_t I, std::size_t... P>
std::string export_view(export_state& s,
                        std::type_identity<ops::permute<P...>>,
                        const std::string& x) {
  ::onnx::NodeProto& n = s.w.node("Transpose", {x}, "%" + std::to_string(I));
  writer::attribute(n, "perm", std::vector<std::int64_t>{std::int64_t(P)...});
  return writer::output_of(n);
}
template <class G, std::size_t I, extents_type To>
std::string export_view(export_state& s,
                        std::type_identity<ops::broadcast_to<To>>,
                        const std::string& x) {
  return writer::output_of(
      s.w.node("Expand", {x, s.w.int64s(extents_with<To>(1))}, "%" + std::to_string(I)));
}
template <class G, std::size_t I, unsigned Mask>
std::string export_view(export_state& s,
                        std::type_identity<ops::expand_dims<Mask>>,
                        const std::string& x) {
  return writer::output_of(
      s.w.node("Unsqueeze", {x, s.w.int64s(axes_of_mask(Mask))}, "%" + std::to_string(I)));
}
template <class G,
          std::size_t I,
          std::size_t Axis,
          std::ptrdiff_t Begin,
          std::ptrdiff_t End,
          std::ptrdiff_t Step>
std::string export_view(export_state& s,
                        std::type_identity<ops::slice<Axis, Begin, End, Step>>,
                        const std::string& x) {
  const std::int64_t end =
      End == ops::slice_end ? std::numeric_limits<std::int64_t>::max() : std::int64_t(End);
  return writer::output_of(s.w.node("Slice",
                                    {x,
                                     s.w.int64s({Begin}),
                                     s.w.int64s({end}),
                                     s.w.int64s({std::int64_t(Axis)}),
                                     s.w.int64s({Step})},
                                    "%" + std::to_string(I)));
}

// What an allow_in_graph<F> exports as, by what F declares (the first that applies):
// - `decomposition`, F written with loom ops: a model-local ONNX function (FunctionProto),
//   which stock runtimes run (interop/onnx/function.hpp);
// - `onnx_op` and `onnx_domain`: a node of that custom op, which the runtime must supply;
// - neither: nothing, and the export is a compile error naming F.
enum class opaque_tier { function, custom_op, none };

// The placeholders a decomposition is traced on: one per operand of node I, of its dtype and
// extents.
template <class G, std::size_t I, std::size_t... A>
auto decomposition_operands(std::index_sequence<A...>)
    -> std::tuple<input_leaf<A,
                             typename node_t<G, node_t<G, I>::args[A]>::value_type,
                             typename node_t<G, node_t<G, I>::args[A]>::extents_type>...>;
template <class G, std::size_t I>
using decomposition_operands_t =
    decltype(decomposition_operands<G, I>(std::make_index_sequence<node_t<G, I>::arity>{}));

template <class F, class Operands>
inline constexpr bool decomposable = false;
template <class F, class... X>
inline constexpr bool decomposable<F, std::tuple<X...>> = requires {
  { F::decomposition(X{}...) } -> traced;
};

template <class F>
concept onnx_custom_op = requires {
  { F::onnx_op } -> std::convertible_to<std::string_view>;
  { F::onnx_domain } -> std::convertible_to<std::string_view>;
};

template <class G, std::size_t I>
constexpr opaque_tier tier_of() {
  using F = typename node_t<G, I>::op_type::callable_type;
  if constexpr (decomposable<F, decomposition_operands_t<G, I>>)
    return opaque_tier::function;
  else if constexpr (onnx_custom_op<F>)
    return opaque_tier::custom_op;
  else
    return opaque_tier::none;
}

template <class G, std::size_t I>
constexpr bool exportable() {
  constexpr node_kind kind = kind_of<node_t<G, I>>();
  if constexpr (kind == node_kind::opaque || kind == node_kind::opaque_call)
    return tier_of<G, I>() != opaque_tier::none;
  else
    return true;
}

// Node I, an opaque node whose F declares a decomposition, as a call of its function
// (interop/onnx/function.hpp).
template <class G, std::size_t I>
std::string export_function(export_state& s);

// An opaque node as its custom op: the operands as they are, the domain imported once, and
// the result's type written out (value_info), since ONNX knows nothing of the op.
template <class G, std::size_t I>
std::string export_custom(export_state& s) {
  using N = node_t<G, I>;
  using F = typename N::op_type::callable_type;
  std::vector<std::string> operands;
  for (std::size_t a : N::args) operands.push_back(s.values[a]);
  ::onnx::NodeProto& n = s.w.node(F::onnx_op, operands, "%" + std::to_string(I));
  n.set_domain(std::string(F::onnx_domain));
  if constexpr (requires { F::onnx_attributes; })
    for (const onnx_int_attribute& a : F::onnx_attributes)
      writer::attribute(n, a.name, std::int64_t(a.value));
  if (!std::string_view(F::onnx_domain).empty())  // "": ONNX's own, imported at the opset
    s.parts.domains.insert(std::string(F::onnx_domain));
  ::onnx::ValueInfoProto& v = *s.w.graph().add_value_info();
  v.set_name(writer::output_of(n));
  writer::write_type<typename N::value_type, typename N::extents_type>(v);
  return writer::output_of(n);
}

// Node I's value, by name, once the nodes before it are exported.
template <class G, std::size_t I>
std::string export_node(export_state& s, const G& g) {
  using N = node_t<G, I>;
  using Op = typename N::op_type;
  using T = typename N::value_type;
  constexpr node_kind kind = kind_of<N>();
  static_assert(exportable<G, I>(),
                "loom: onnx export: the graph holds an allow_in_graph<F> (F is named below) "
                "whose F declares no ONNX form: give F a `decomposition` written with loom ops "
                "(exported as an ONNX function), or `onnx_op` and `onnx_domain` (a custom op "
                "the runtime supplies)");
  const std::string hint = "%" + std::to_string(I);
  if constexpr (kind == node_kind::input) {
    return s.inputs[Op::index];
  } else if constexpr (kind == node_kind::scalar) {
    const T value = node_at<I>(g.nodes).op.value;
    if (!s.scalars_as_inputs) return s.w.scalar(value);
    ::onnx::ValueInfoProto& in = *s.w.graph().add_input();
    in.set_name("scalar" + std::to_string(I));
    writer::write_type<T, extents<>>(in);
    return in.name();
  } else if constexpr (kind == node_kind::literal) {
    return s.w.scalar(static_cast<T>(Op::value));
  } else if constexpr (kind == node_kind::hook || kind == node_kind::barrier) {
    const std::string& x = s.values[N::args[0]];
    if (kind == node_kind::hook && s.hooks_as_identity)
      return writer::output_of(s.w.node("Identity", {x}, hint));
    s.parts.dropped.push_back(std::string(kind == node_kind::hook ? "hook " : "fusion_barrier ") +
                              hint);
    return x;
  } else if constexpr (kind == node_kind::view) {
    return export_view<G, I>(s, std::type_identity<Op>{}, s.values[N::args[0]]);
  } else if constexpr (kind == node_kind::reduction) {
    return export_reduce<G, I>(s, std::type_identity<Op>{});
  } else if constexpr (kind == node_kind::opaque || kind == node_kind::opaque_call) {
    if constexpr (tier_of<G, I>() == opaque_tier::function)
      return export_function<G, I>(s);
    else if constexpr (tier_of<G, I>() == opaque_tier::custom_op)
      return export_custom<G, I>(s);
    else
      return {};  // the static_assert above has said why
  } else if constexpr (has_onnx_form<Op> || has_onnx_native<Op>) {
    if constexpr (fused_at<G, I>() != fused_op::none)
      if (fuses<G, I>(s)) return export_fused<G, I>(s, g);
    return export_form<G, I>(s);
  } else if constexpr (is_cast<Op>) {
    const std::string& x = s.values[N::args[0]];
    ::onnx::NodeProto& n = s.w.node(Op::onnx, {x}, hint);
    writer::attribute(n, "to", std::int64_t(elem_type<T>()));
    return writer::output_of(n);
  } else {
    static_assert(has_onnx_spelling<Op>,
                  "loom: onnx export: an op descriptor declares no ONNX spelling: give it `onnx` "
                  "(a loom::onnx_form), or `onnx_native` for the opsets that have the op (the op "
                  "is named below)");
    return {};
  }
}

// Every node of g, in order, into s.values.
template <class G>
void export_nodes(export_state& s, const G& g) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((s.values.push_back(export_node<G, I>(s, g))), ...);
  }
  (std::make_index_sequence<G::node_count>{});
}

}  // namespace loom::onnx_export
