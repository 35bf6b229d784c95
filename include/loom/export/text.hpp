#pragma once

#include <cstddef>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "loom/autodiff/view_gradients.hpp"
#include "loom/core/shape.hpp"
#include "loom/graph/ops/reduce.hpp"
#include "loom/graph/ops/select.hpp"
#include "loom/graph/ops/view.hpp"
#include "loom/graph/plan.hpp"
#include "loom/graph/type_name.hpp"

namespace loom {

namespace detail {

// How an exporter spells an op's parameters. The text dump writes `max[axes=(1), keepdims]`;
// the jaxpr follows Python, as jax prints them: `[axes=(1,) keepdims=True]`.
struct param_style {
  std::string_view separator;
  bool python;  // one-element tuples end in a comma; flags are written True or False
};
inline constexpr param_style text_params{", ", false};
inline constexpr param_style python_params{" ", true};

// The bracketed parameter list of one op, empty when it has none.
class op_params {
 public:
  explicit op_params(param_style style) : style_(style) {}

  void value(std::string_view key, std::string_view v) { add(key, v); }
  void tuple(std::string_view key, const std::vector<std::string>& items) {
    std::string t = "(";
    for (std::size_t k = 0; k < items.size(); ++k) t += (k ? ", " : "") + items[k];
    add(key, t + (style_.python && items.size() == 1 ? ",)" : ")"));
  }
  // The text dump names a flag only when it is set; Python writes it either way.
  void flag(std::string_view key, bool on) {
    if (style_.python)
      add(key, on ? "True" : "False");
    else if (on)
      text_ += std::string(text_.empty() ? "" : style_.separator) + std::string(key);
  }

  std::string str() const { return text_.empty() ? text_ : "[" + text_ + "]"; }

 private:
  void add(std::string_view key, std::string_view v) {
    text_ += std::string(text_.empty() ? "" : style_.separator) + std::string(key) + "=" +
             std::string(v);
  }

  param_style style_;
  std::string text_;
};

template <extents_type E>
std::vector<std::string> extent_items() {
  std::vector<std::string> items;
  // `!=`, not `<`: E::rank may be 0, where nvcc warns that `d < 0` is pointless.
  for (std::size_t d = 0; d != E::rank; ++d) items.push_back(extent_to_string(E::dims[d]));
  return items;
}

// The parameters each op carries in its type; element-wise ops and matmul have none.
template <class Op>
void write_params(op_params&, std::type_identity<Op>) {}

// The axes a bit mask names, in order.
inline std::vector<std::string> axes_of_mask(unsigned mask) {
  std::vector<std::string> axes;
  for (unsigned d = 0; mask >> d; ++d)
    if (mask >> d & 1u) axes.push_back(std::to_string(d));
  return axes;
}

template <class Kind, unsigned Mask, bool KeepDims>
void write_params(op_params& p, std::type_identity<ops::reduce<Kind, Mask, KeepDims>>) {
  p.tuple("axes", axes_of_mask(Mask));
  p.flag("keepdims", KeepDims);
}

template <extents_type To>
void write_params(op_params& p, std::type_identity<ops::reshape<To>>) {
  p.tuple("extents", extent_items<To>());
}

template <extents_type To>
void write_params(op_params& p, std::type_identity<ops::broadcast_to<To>>) {
  p.tuple("extents", extent_items<To>());
}

template <std::size_t... P>
void write_params(op_params& p, std::type_identity<ops::permute<P...>>) {
  p.tuple("order", {std::to_string(P)...});
}

template <unsigned Mask>
void write_params(op_params& p, std::type_identity<ops::expand_dims<Mask>>) {
  p.tuple("axes", axes_of_mask(Mask));
}

// Python's slice(start, stop, step), stop None when the slice runs to the end.
template <std::size_t Axis, std::ptrdiff_t Begin, std::ptrdiff_t End, std::ptrdiff_t Step>
void write_params(op_params& p, std::type_identity<ops::slice<Axis, Begin, End, Step>>) {
  p.value("axis", std::to_string(Axis));
  p.value("start", std::to_string(Begin));
  p.value("stop", End == ops::slice_end ? "None" : std::to_string(End));
  p.value("step", std::to_string(Step));
}

// slice's gradient node shows the bounds of its slice.
template <class Slice, class XE>
void write_params(op_params& p,
                  std::type_identity<ops::opaque_call<autodiff::slice_gradient<Slice, XE>>>) {
  write_params(p, std::type_identity<Slice>{});
}

template <dtype U>
void write_params(op_params& p, std::type_identity<ops::cast<U>>) {
  p.value("dtype", dtype_name<U>());
}

template <class Op>
std::string params_of(param_style style) {
  op_params p(style);
  write_params(p, std::type_identity<Op>{});
  return p.str();
}

// F's own name where it declares one (a static member: a stateful F's data member named
// `name` is no declaration), else its type's.
template <class F>
concept declares_name = requires {
  std::string_view(F::name);
}
&&!std::is_member_object_pointer_v<decltype(&F::name)>;

template <class F>
std::string_view callable_name() {
  if constexpr (declares_name<F>)
    return F::name;
  else
    return type_name<F>();
}

template <class N>
std::string type_string() {
  return std::string(dtype_name<typename N::value_type>()) +
         extents_string<typename N::extents_type>();
}

// What node I computes, without its operands: `input 0`, `relu`, `max[axes=(1), keepdims]`,
// `opaque<F>`.
template <class G, std::size_t I>
std::string describe_op(const G& g) {
  using N = node_t<G, I>;
  using Op = typename N::op_type;
  constexpr node_kind kind = kind_of<N>();
  std::ostringstream s;
  if constexpr (kind == node_kind::input) {
    s << "input " << Op::index;
  } else if constexpr (kind == node_kind::scalar) {
    s << "scalar " << +node_at<I>(g.nodes).op.value << " (run-time parameter)";
  } else if constexpr (kind == node_kind::literal) {
    s << "literal " << +Op::value;
  } else {
    s << Op::name;
    if constexpr (kind == node_kind::opaque || kind == node_kind::opaque_call)
      s << '<' << callable_name<typename Op::callable_type>() << '>';
    s << params_of<Op>(text_params);
  }
  return s.str();
}

// How node I runs, where that is not an ordinary fused op: opaque calls and hooks.
template <class G, std::size_t I>
std::string describe_notes(const G& g) {
  using N = node_t<G, I>;
  using Op = typename N::op_type;
  constexpr node_kind kind = kind_of<N>();
  std::string s;
  if constexpr (kind == node_kind::opaque || kind == node_kind::opaque_call) {
    s = kind == node_kind::opaque ? "  [element-wise, " : "  [whole-tensor, ";
    s += Op::is_pure ? "pure" : "impure";
    if constexpr (!std::is_empty_v<typename Op::callable_type>) s += ", stateful";
    s += kind == node_kind::opaque ? ", fused as a call]" : ", barrier]";
  } else if constexpr (kind == node_kind::hook) {
    s = "  [calls back once per run]";
  }
  if constexpr (requires(const Op& op) { op.alias; }) {
    const auto& op = node_at<I>(g.nodes).op;
    if (op.alias != op.no_alias)
      s += (kind == node_kind::hook ? " (the same hook as %" : " (the same call as %") +
           std::to_string(op.alias) + (kind == node_kind::hook ? ")" : ": F runs once)");
  }
  return s;
}

template <class G, std::size_t I>
std::string describe_node(const G& g) {
  using N = node_t<G, I>;
  std::string s = '%' + std::to_string(I) + " = " + describe_op<G, I>(g);
  for (std::size_t a : N::args) s += " %" + std::to_string(a);
  return s + " : " + type_string<N>() + describe_notes<G, I>(g);
}

}  // namespace detail

// The graph as text, one node a line in topological order, then its outputs.
template <class G>
std::string graph_to_text(const G& g) {
  std::string text;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((text += "  " + detail::describe_node<G, I>(g) + "\n"), ...);
  }
  (std::make_index_sequence<G::node_count>{});
  text += "  return";
  for (std::size_t o : G::outputs) text += " %" + std::to_string(o);
  return text + "\n";
}

}  // namespace loom
