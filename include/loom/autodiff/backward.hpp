#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "loom/api/compile.hpp"
#include "loom/autodiff/replay.hpp"
#include "loom/autodiff/rules.hpp"
#include "loom/graph/node_table.hpp"
#include "loom/graph/plan/extents.hpp"

// Reverse mode over the flat graph of a traced model: the cotangent of each node is the sum
// of what each use of its value sends back through that user's rule (rules.hpp). Everything
// is traced values, so the backward pass is one graph with the forward pass, built at compile
// time, that compile() plans and fuses as a whole.
namespace loom::autodiff {

namespace detail {

// One use of a value: node `node` reads it as operand `operand`.
struct use {
  std::size_t node, operand;
};

template <class G, std::size_t J>
constexpr std::size_t use_count() {
  std::size_t n = 0;
  for (std::size_t u = J + 1; u < G::node_count; ++u)
    for (std::size_t k = 0; k < node_table<G>[u].arity; ++k) n += node_table<G>[u].args[k] == J;
  return n;
}

template <class G, std::size_t J>
inline constexpr auto uses_of = [] {
  std::array<use, use_count<G, J>()> r{};
  std::size_t n = 0;
  for (std::size_t u = J + 1; u < G::node_count; ++u)
    for (std::size_t k = 0; k < node_table<G>[u].arity; ++k)
      if (node_table<G>[u].args[k] == J) r[n++] = {u, k};
  return r;
}();

template <class A>
auto sum_of(const A& a) {
  return a;
}
template <class A, class B, class... Rest>
auto sum_of(const A& a, const B& b, const Rest&... rest) {
  if constexpr (is_no_grad_v<A>)
    return sum_of(b, rest...);
  else if constexpr (is_no_grad_v<B>)
    return sum_of(a, rest...);
  else
    return sum_of(a + b, rest...);
}

// How a cotangent of extents C, sent back by node U, is summed to the extents of its operand
// J: the axes J lacks (drop) and those where J has extent 1 (keep, as 1). The trailing
// `exact` axes are J's own by construction (a GEMM's matrix axes). A dyn extent of J that
// may be 1 at run time while U's is not would need a sum that only the run time knows of:
// `proven` is false there, and the gradient is refused at compile time.
struct summing {
  unsigned drop = 0, keep = 0;
  bool proven = true;
};

template <class G, std::size_t U, std::size_t J, class C, std::size_t Exact>
constexpr summing summing_for() {
  using XE = typename node_t<G, J>::extents_type;
  using UE = typename node_t<G, U>::extents_type;
  constexpr std::size_t lead = C::rank - XE::rank;
  summing s;
  // `!=` and sums rather than `<` against 0: nvcc warns that comparing an unsigned value
  // with a constant 0 is pointless.
  for (std::size_t d = 0; d != C::rank; ++d) {
    if (d + XE::rank < C::rank) {  // an axis the operand lacks
      s.drop |= 1u << d;
      continue;
    }
    const std::size_t x = XE::dims[d - lead], c = C::dims[d];
    const bool exact = C::rank - d < Exact + 1;  // one of the trailing Exact axes
    if (exact || (x == c && x != dyn) || c == 1) continue;
    if (x == 1) {
      s.keep |= 1u << d;
    } else if (x == dyn) {
      const bool same_name =
          c == dyn && C::rank == UE::rank &&
          plan_extents<G>::symbolic[U][d] == plan_extents<G>::symbolic[J][d - lead];
      s.proven = s.proven && same_name;
    }
  }
  return s;
}

template <class Op>
inline constexpr bool is_broadcast_to_v = false;
template <class To>
inline constexpr bool is_broadcast_to_v<ops::broadcast_to<To>> = true;

}  // namespace detail

// Which nodes depend on the inputs I... (by position): only through them does a gradient
// reach those inputs, so the walk gives no other node a cotangent (and runs no rule, with its
// checks, on paths that lead only to inputs nobody differentiates).
template <class G, std::size_t... I>
inline constexpr auto depends_on_inputs = [] {
  std::array<bool, G::node_count> on{};
  for (const std::size_t at : {loom::detail::placeholder_node<G, I>()...})
    if (at < G::node_count) on[at] = true;
  for (std::size_t i = 0; i < G::node_count; ++i)
    for (std::size_t k = 0; k < node_table<G>[i].arity; ++k)
      on[i] = on[i] || on[node_table<G>[i].args[k]];
  return on;
}();

// Named so that the note shows the op and the extents that meet.
template <class Op, class OperandExtents, class ResultExtents, bool Proven>
inline constexpr bool broadcast_known_at_compile_time = Proven;

// The walk from the one output of g, whose own cotangent is `seed` (a traced value of the
// output's dtype and extents: 1 for a loss, the caller's cotangent for loom::vjp). It visits
// the nodes once each, last to first: a node's cotangent is built from its users' rules,
// which read their cotangents through cotangent_ref leaves, then added to the joint graph
// at once, so that every cotangent is computed once however many paths lead to it.
template <class G, class Seed, std::size_t... Wrt>
class backward {
 public:
  backward(const G& g, const Seed& seed) : g_(g), seed_(seed) {}

  // The joint graph's nodes after every node's cotangent, as flatten's walk state: the
  // nodes, and a memo in which each forward_ref and cotangent_ref stands for its node.
  auto run() const {
    return step<G::node_count>(
        loom::detail::visited<typename G::nodes_type, forward_memo_t<G>, 0>{g_.nodes});
  }

 private:
  template <std::size_t Next, class State>
  auto step(const State& state) const {
    if constexpr (Next == 0) {
      return state;
    } else {
      constexpr std::size_t J = Next - 1;
      using Memo = typename State::memo_type;
      const auto c = cotangent<J, Memo>();
      if constexpr (is_no_grad_v<std::remove_const_t<decltype(c)>>) {
        return step<J>(state);
      } else {
        const auto added = loom::detail::insert<false, Memo>(state.nodes, c);
        using A = std::remove_const_t<decltype(added)>;
        using M = typename loom::detail::
            memo_add<typename A::memo_type, cotangent_ref_t<J, G>, A::index>::type;
        return step<J>(loom::detail::visited<decltype(added.nodes), M, A::index>{added.nodes});
      }
    }
  }

  // The cotangent of node J (no_grad where none reaches it), given the memo that holds the
  // cotangents of the nodes after J.
  template <std::size_t J, class Memo>
  auto cotangent() const {
    constexpr auto& uses = detail::uses_of<G, J>;
    auto own = [&] {
      if constexpr (J == G::outputs[0])
        return seed_;
      else
        return no_grad{};
    }();
    // Gradients reach floating-point values only, and of those only the ones that depend on
    // an input in wrt.
    if constexpr (!floating<typename node_t<G, J>::value_type> || !depends_on_inputs<G, Wrt...>[J])
      return no_grad{};
    else
      return [&]<std::size_t... P>(std::index_sequence<P...>) {
        return detail::sum_of(own, contribution<uses[P].node, uses[P].operand, Memo>()...);
      }
    (std::make_index_sequence<uses.size()>{});
  }

  // What node U sends back to its operand K, in the operand's dtype and extents.
  template <std::size_t U, std::size_t K, class Memo>
  auto contribution() const {
    using N = node_t<G, U>;
    constexpr std::size_t J = N::args[K];
    if constexpr (!has_cotangent_v<U, G, Memo>) {
      return no_grad{};
    } else {
      const auto raw = [&]<std::size_t... A>(std::index_sequence<A...>) {
        return vjp<K>(node_at<U>(g_.nodes).op,
                      cotangent_ref_t<U, G>{},
                      value_of<U>(g_),
                      value_of<N::args[A]>(g_)...);
      }
      (std::make_index_sequence<N::arity>{});
      if constexpr (is_no_grad_v<std::remove_const_t<decltype(raw)>>)
        return no_grad{};
      else
        return fit<U, J>(raw);
    }
  }

  template <std::size_t U, std::size_t J, class R>
  auto fit(const R& raw) const {
    using X = node_t<G, J>;
    using T = typename X::value_type;
    const auto typed = [&] {
      if constexpr (std::is_same_v<typename R::value_type, T>)
        return raw;
      else
        return cast<T>(raw);
    }();
    using Op = typename node_t<G, U>::op_type;
    constexpr node_kind kind = kind_of<node_t<G, U>>();
    // Broadcasting ops send back a value of their own extents; other views and the
    // reductions already give the operand's.
    if constexpr (kind == node_kind::elementwise || kind == node_kind::opaque ||
                  detail::is_broadcast_to_v<Op>)
      return sum_to<U, J, 0>(typed);
    else if constexpr (kind == node_kind::matmul)
      return sum_to<U, J, 2>(typed);
    else
      return typed;
  }

  template <std::size_t U, std::size_t J, std::size_t Exact, class C>
  auto sum_to(const C& c) const {
    using CE = typename C::extents_type;
    using XE = typename node_t<G, J>::extents_type;
    if constexpr (CE::rank < XE::rank) {
      return detail::broadcast_like(c, value_of<J>(g_));
    } else {
      constexpr detail::summing s = detail::summing_for<G, U, J, CE, Exact>();
      static_assert(
          broadcast_known_at_compile_time<typename node_t<G, U>::op_type, XE, CE, s.proven>,
          "loom: grad: an operand's dyn extent may be broadcast at run time (1 against a "
          "larger extent), so the sum its gradient needs is not known at compile time; give "
          "the extents that meet one loom::dims name, or make them static (the op, the "
          "operand's extents and the result's are named below)");
      if constexpr ((s.drop | s.keep) == 0) {
        return c;
      } else {
        const auto summed = detail::sum_over<s.drop | s.keep, false>(c);
        constexpr unsigned lead = CE::rank - XE::rank;
        if constexpr (s.keep == 0)
          return summed;
        else
          return loom::detail::dispatch(ops::expand_dims<(s.keep >> lead)>{}, summed);
      }
    }
  }

  const G& g_;
  const Seed& seed_;
};

}  // namespace loom::autodiff
