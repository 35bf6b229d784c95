#pragma once

#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/core/shape.hpp"
#include "loom/graph/opaque.hpp"
#include "loom/graph/type_name.hpp"
#include "loom/tensor/tensor.hpp"

// The backward pass of a whole-tensor allow_in_graph<F>, as F declares it:
//   void backward(inputs..., output, grad_output, grad_inputs...) const;
// on read-only views of F's inputs, its output and the output's cotangent, and writable views
// of one gradient per input, in that input's dtype and extents (F leaves the ones it has no
// gradient for, such as integer indices, as they are). On the GPU the same call ends with the
// cudaStream_t, on device views, as F's forward call does. In the joint graph each
// differentiated input's gradient is one whole-tensor node that calls F::backward: the
// gradients of F's other inputs go to scratch tensors there, so F::backward runs once per
// backward pass for an F with one differentiated input.
namespace loom::autodiff {

namespace detail {
struct named_backward {
  void backward();
};
template <class F>
struct both_backwards : F, named_backward {};
}  // namespace detail

// Whether F has a member named `backward`, of any signature (an overload set, a template):
// naming it on a class that also inherits detail::named_backward is then ambiguous. A final F
// cannot be inherited from: there only a single, non-template backward is seen.
template <class F>
inline constexpr bool declares_backward = [] {
  if constexpr (!std::is_class_v<F>)
    return false;
  else if constexpr (std::is_final_v<F>)
    return requires {
      &F::backward;
    };
  else
    return !requires {
      &detail::both_backwards<F>::backward;
    };
}();

// Named so that a failure shows F and the views it was offered.
template <class F, class... Views>
inline constexpr bool backward_callable_on = requires(const F& f, const Views&... v) {
  f.backward(v...);
};

// The gradient of input K of a whole-tensor F with Inputs inputs, as a whole-tensor F of its
// own, called on (inputs..., output, grad_output) and writing the gradient.
template <class F, std::size_t K, std::size_t Inputs>
struct whole_tensor_backward {
  using granularity = whole_tensor;
  template <class... E>
  using output_extents = std::tuple_element_t<K, std::tuple<E...>>;
  static constexpr std::size_t output_extents_of_input = K;
  template <class... S>
  static shape output_shape(const S&... in) {
    return std::array<shape, sizeof...(S)>{in...}[K];
  }

  [[no_unique_address]] F f;

  // Host: (inputs..., output, grad_output, grad_input_K); GPU: the same, then the stream.
  template <class... A>
  void operator()(const A&... a) const {
    constexpr std::size_t trailing = sizeof...(A) - (Inputs + 3);
    const auto args = std::tie(a...);
    const auto& grad_k = std::get<Inputs + 2>(args);
    [&]<std::size_t... I, std::size_t... T>(std::index_sequence<I...>, std::index_sequence<T...>) {
      // One owner per input: the gradient K is written to; the others go to scratch.
      auto scratch = std::make_tuple(scratch_for<I>(std::get<I>(args), trailing_context(a...))...);
      call(std::get<I>(args)...,
           std::get<Inputs>(args),
           std::get<Inputs + 1>(args),
           gradient_view<I>(grad_k, std::get<I>(scratch))...,
           std::get<Inputs + 3 + T>(args)...);
    }
    (std::make_index_sequence<Inputs>{}, std::make_index_sequence<trailing>{});
  }

 private:
  template <class... V>
  void call(const V&... v) const {
    static_assert(backward_callable_on<F, V...>,
                  "loom: grad: F::backward must take (inputs..., output, grad_output, "
                  "grad_inputs...) as views, each gradient with its input's dtype and extents "
                  "(and the cudaStream_t last, on device views, in a CUDA model); F and the "
                  "views are named below");
    if constexpr (backward_callable_on<F, V...>) f.backward(v...);
  }

  // The stream a GPU call ends with, or the host's empty context.
  template <class... A>
  static auto trailing_context(const A&... a) {
    if constexpr (sizeof...(A) == Inputs + 3) {
      return host_memory::context{};
    } else {
      return std::get<sizeof...(A) - 1>(std::tie(a...));
    }
  }

  // A tensor for the gradient of input I where I is not K (nothing where it is).
  template <std::size_t I, class V, class Context>
  static auto scratch_for(const V& input, Context context) {
    if constexpr (I == K) {
      return nullptr;
    } else {
      using S = typename V::memory_space;
      return tensor<typename V::value_type, typename V::extents_type, S>(input.shape(), context);
    }
  }

  template <std::size_t I, class G, class Scratch>
  static auto gradient_view(const G& grad_k, Scratch& scratch) {
    if constexpr (I == K)
      return grad_k;
    else
      return scratch.view();
  }
};

}  // namespace loom::autodiff

// The result of input K's gradient node has input K's dtype; a backward pass with side
// effects is never merged with another, as F's forward call.
template <class F, std::size_t K, std::size_t Inputs>
struct loom::opaque_traits<loom::autodiff::whole_tensor_backward<F, K, Inputs>> {
  static constexpr bool is_whole_tensor = true;
  template <class... Ts>
  using output_type = std::tuple_element_t<K, std::tuple<Ts...>>;
  static constexpr bool is_pure = opaque_traits<F>::is_pure;
  static constexpr int cost = opaque_default_cost;
};
