#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include "loom/graph/flatten.hpp"

namespace loom::autodiff {

// The cotangent of a value that no gradient reaches (its uses send none back).
struct no_grad {};

template <class C>
inline constexpr bool is_no_grad_v = std::is_same_v<C, no_grad>;

// Node I of the forward graph, as a leaf of the backward pass's traced values. The backward
// pass reads forward values through these instead of copies of their traced trees, so that
// its types stay small; joining the two graphs (grad.hpp) maps each back to node I.
template <std::size_t I, dtype T, extents_type E>
struct forward_ref : node_base {
  using value_type = T;
  using extents_type = E;
};

template <std::size_t I, class G>
using forward_ref_t =
    forward_ref<I, typename node_t<G, I>::value_type, typename node_t<G, I>::extents_type>;

// The value of node I of g, for a backward rule.
template <std::size_t I, class G>
forward_ref_t<I, G> value_of(const G&) {
  return {};
}

// The cotangent of node I, as a leaf of the traced values of the rules of I's operands: the
// walk (backward.hpp) adds each cotangent to the joint graph once, and maps this leaf to it.
template <std::size_t I, dtype T, extents_type E>
struct cotangent_ref : node_base {
  using value_type = T;
  using extents_type = E;
};

template <std::size_t I, class G>
using cotangent_ref_t =
    cotangent_ref<I, typename node_t<G, I>::value_type, typename node_t<G, I>::extents_type>;

// Whether the walk's memo holds node I's cotangent (whether any gradient reaches I).
template <std::size_t I, class G, class Memo>
inline constexpr bool has_cotangent_v =
    loom::detail::memo_find<cotangent_ref_t<I, G>>(static_cast<Memo*>(nullptr)) != ~std::size_t(0);

// Where each forward_ref of G stands: the memo that flattening the backward pass starts from.
template <class G, std::size_t... I>
auto forward_memo(std::index_sequence<I...>)
    -> loom::detail::memo<loom::detail::memo_entry<forward_ref_t<I, G>, I>...>;
template <class G>
using forward_memo_t = decltype(forward_memo<G>(std::make_index_sequence<G::node_count>{}));

}  // namespace loom::autodiff
