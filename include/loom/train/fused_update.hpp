#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loom/api/compile.hpp"
#include "loom/autodiff/grad.hpp"
#include "loom/tensor/tensor.hpp"
#include "loom/train/rule_update.hpp"

// What every optimizer of loom shares: a rule's update of all parameters compiled into one
// model, run in place over the parameters and the rule's state (each element read, then
// written: see the guide's "Running in place"), one call per step.
namespace loom::train {

// How an optimizer compiles and runs its models and reaches its tensors, per memory space of
// its parameters: here the host's; the CUDA backend adds device memory's
// (backends/cuda/optimizer_memory.hpp), where each call is enqueued on a stream (`context`).
template <class Space>
struct optimizer_memory;

template <>
struct optimizer_memory<host_memory> {
  using context = host_memory::context;
  template <class... A>
  static auto compile(const A&... a) {
    return loom::compile(a...);
  }
  template <class T>
  static void zero(T& t, context) {
    t.fill(typename T::value_type(0));
  }
  template <class T>
  static void set(T& t, typename T::value_type value, context) {
    *t.data() = value;
  }
  template <class Model, class Outs, class... A>
  static void run(const Model& model, const Outs& outs, context, const A&... a) {
    model.run(outs, a...);
  }
  // The host runs each step before the call returns: nothing to order.
  static void hand_over(context, context) {}
  static void hand_over_at_end(context) noexcept {}
};

// Rule declares `states` (tensors kept per parameter, zeros at first), `scalars` (rank-0
// inputs per dtype of the parameters, computed on the host in double each step:
// scalar_values(step)), and
// update(p, g, state..., scalar...) -> tuple of the new p and state..., in traced ops. Its
// constants are scalars too, not C++ numbers: a traced value holding a run-time number is
// not merged with its copies (the new state is also read by the new parameter), and an
// input is.
template <class Rule, class... P>
class fused_update {
  using space = typename std::tuple_element_t<0, std::tuple<P...>>::memory_space;
  static_assert((std::is_same_v<typename P::memory_space, space> && ...),
                "loom: an optimizer's parameters are all in one memory space (host or device)");
  // Its constants (Adam's eps of 1e-8, beta2 of 0.999) and moving averages need more than
  // 16 bits: mixed-precision training keeps f32 parameters and casts them in the model.
  static_assert((!half_precision<typename P::value_type> && ...),
                "loom: an optimizer updates f32 or f64 parameters; keep bf16 and f16 values as "
                "casts of f32 parameters inside the model");
  using memory = optimizer_memory<space>;
  static constexpr std::size_t n = sizeof...(P);
  static constexpr std::size_t tensors = (2 + Rule::states) * n;  // g, p, state
  using slots = dtype_slots<typename P::value_type...>;
  template <std::size_t K>
  using param_t = std::tuple_element_t<K % n, std::tuple<P...>>;
  // Scalar K's dtype: that of its slot (the scalars of each dtype in turn).
  template <std::size_t K>
  using scalar_dtype = typename slots::template dtype<K / Rule::scalars>;
  // The update model's inputs: gradients, parameters, states (tensors), then scalars (rank 0).
  template <std::size_t K>
  struct input_of {
    using type = input<typename param_t<K>::value_type, typename param_t<K>::extents_type>;
  };
  template <std::size_t K>
  requires(K >= tensors) struct input_of<K> {
    using type = input<scalar_dtype<K - tensors>, extents<>>;
  };
  template <std::size_t K>
  using input_t = typename input_of<K>::type;
  static constexpr std::size_t scalar_count = Rule::scalars * slots::count;
  static constexpr std::size_t input_count = tensors + scalar_count;

  // A model whose inputs are `data...`, then the parameters, states and scalars.
  template <class Model, class... D>
  static auto compile_after(const Model& model, const D&... data) {
    return [&]<std::size_t... K>(std::index_sequence<K...>) {
      return memory::compile(model, data..., input_t<n + K>{}...);
    }
    (std::make_index_sequence<input_count - n>{});
  }

  static auto compile_update(const Rule& rule) {
    return [&]<std::size_t... K>(std::index_sequence<K...>) {
      return compile_after(update_model<Rule, n>{rule}, input_t<K>{}...);
    }
    (std::make_index_sequence<n>{});
  }

  using model_type = decltype(compile_update(std::declval<const Rule&>()));

 public:
  using context_type = typename space::context;

  // The state starts at zero (on a device: zeroed on the legacy default stream).
  fused_update(const Rule& rule, P&... params)
      : rule_(rule),
        params_(&params...),
        states_(zero_states(params...)),
        scalars_(scalar_tensors(std::make_index_sequence<scalar_count>{})),
        model_(compile_update(rule)) {}
  // Training steps and captured steps refer to their optimizer: it stays where it was made.
  fused_update(const fused_update&) = delete;
  fused_update& operator=(const fused_update&) = delete;
  ~fused_update() { memory::hand_over_at_end(context_); }

  // One step: every parameter and its state updated in place, from gradients of the
  // parameters' dtypes and shapes (in the parameters' order, or as one tuple).
  template <class... G>
  requires(sizeof...(G) == n) void step(const G&... grads) {
    run_step(model_, std::tie(), grads...);
  }
  template <class... G>
  void step(const std::tuple<G...>& grads) {
    std::apply([this](const auto&... g) { step(g...); }, grads);
  }

  // The steps taken so far.
  std::size_t steps() const { return steps_; }
  // Starts again as a newly made optimizer: the state back to zero (on a device: enqueued on
  // the optimizer's stream) and no step taken. The parameters keep their values, and the
  // compiled training steps that refer to this optimizer stay valid.
  void reset() {
    std::apply([this](auto&... s) { (memory::zero(s, context_), ...); }, flat_states());
    steps_ = 0;
  }
  const Rule& rule() const { return rule_; }
  // The learning rate of the next steps (a schedule's). The other options have no setter:
  // they stay as constructed (each step still passes them to the model as scalars).
  void set_lr(double lr) { rule_.options.lr = lr; }
  // The threads the update runs on (0: loom's default), as a compiled model's set_threads.
  void set_threads(int n) requires(space::host_accessible) { model_.set_threads(n); }
  // On a device: the stream the next steps are enqueued on (at first the legacy default
  // one). They wait on the GPU for the work already enqueued on the previous stream.
  void set_stream(context_type stream) requires(!space::host_accessible) {
    memory::hand_over(context_, stream);
    context_ = stream;
  }
  context_type context() const { return context_; }

  // The model of a training step over these parameters: `loss_model`'s loss and its
  // gradients with respect to its last inputs (these parameters, in this order), then this
  // optimizer's update of them, as one graph. Its inputs are `data...` (declarations or
  // tensors, as compile() takes them), then the parameters, states and scalars, as run_step
  // passes them; it returns the loss, then the new parameters and states.
  template <class F, class... D>
  auto compile_training_step(F loss_model, const D&... data) const {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return compile_after(autodiff::make_gradient_model<autodiff::gradient_kind::value_and_grad>(
                               std::move(loss_model),
                               wrt<(sizeof...(D) + I)...>,
                               update_after_gradients<Rule, n, slots>{rule_}),
                           data...);
    }
    (std::make_index_sequence<n>{});
  }

  // One step by `model` (this optimizer's own, or a training step's): runs it on `data...`
  // then the parameters, their state and this step's scalars, writing the results before
  // the update into `outs` (a tuple of references) and the new parameters and states in
  // place.
  template <class Model, class... Out, class... D>
  void run_step(const Model& model, std::tuple<Out&...> outs, const D&... data) {
    set_scalars();
    with_buffers([&](const auto& written, const auto&... read) {
      memory::run(model, std::tuple_cat(outs, written), context_, data..., read...);
    });
    ++steps_;  // only once the step ran: a call that threw changed nothing
  }

  // On a device: a step by `model` as run_step takes it, recorded into a CUDA graph (see
  // compiled_model::capture) over these buffers and the optimizer's, to be replayed by
  // replay_step. Nothing runs and no step is counted.
  template <class Model, class... Out, class... D>
  auto capture_step(const Model& model, std::tuple<Out&...> outs, const D&... data) {
    return with_buffers([&](const auto& written, const auto&... read) {
      return memory::capture(model, std::tuple_cat(outs, written), context_, data..., read...);
    });
  }
  // One step by a captured graph: this step's scalars, then the graph, on the stream.
  template <class Graph>
  void replay_step(const Graph& graph) {
    set_scalars();
    graph.launch(context_);
    ++steps_;
  }

 private:
  // This step's scalars, written where the model reads them (on a device, enqueued on the
  // step's stream before it).
  void set_scalars() {
    const auto values = rule_.scalar_values(steps_ + 1);
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      (memory::set(std::get<K>(scalars_), scalar_dtype<K>(values[K % Rule::scalars]), context_),
       ...);
    }
    (std::make_index_sequence<scalar_count>{});
  }

  // Calls f(written, read...) with what a step writes in place (every parameter and state,
  // as a tuple of references) and what it reads after its data, in the models' order (every
  // parameter, every state, every scalar).
  template <class F>
  decltype(auto) with_buffers(F&& f) {
    return std::apply(
        [&](auto*... p) -> decltype(auto) {
          return std::apply(
              [&](auto&... s) -> decltype(auto) {
                return std::apply(
                    [&](auto&... c) -> decltype(auto) {
                      return f(std::tie(*p..., s...), *p..., s..., c...);
                    },
                    scalars_);
              },
              flat_states());
        },
        params_);
  }

  template <class T>
  static T zeros_like(const T& like) {
    T z(like.shape(), context_type{});
    memory::zero(z, context_type{});
    return z;
  }

  // Rule::states sets of zeros, each one tensor per parameter.
  static auto zero_states(const P&... params) {
    return [&]<std::size_t... S>(std::index_sequence<S...>) {
      return std::make_tuple(((void)S, std::make_tuple(zeros_like(params)...))...);
    }
    (std::make_index_sequence<Rule::states>{});
  }

  // The rule's scalars: rank-0 tensors, set before each step.
  template <std::size_t... K>
  static std::tuple<tensor<scalar_dtype<K>, extents<>, space>...> scalar_tensors(
      std::index_sequence<K...>) {
    return {tensor<scalar_dtype<K>, extents<>, space>(detail::static_shape<extents<>>(),
                                                      context_type{})...};
  }

  // Every state tensor, as one tuple of references: all of the first state, then the next.
  auto flat_states() {
    return std::apply(
        [](auto&... per_state) {
          return std::tuple_cat(
              std::apply([](auto&... s) { return std::tie(s...); }, per_state)...);
        },
        states_);
  }

  Rule rule_;
  std::tuple<P*...> params_;
  decltype(zero_states(std::declval<const P&>()...)) states_;
  decltype(scalar_tensors(std::make_index_sequence<scalar_count>{})) scalars_;
  model_type model_;
  context_type context_{};
  std::size_t steps_ = 0;
};

}  // namespace loom::train
