#pragma once

// Runs one case of a generated model (one set of inputs) every way loom can run it, and
// checks each result against the reference: compiled on each thread count, eagerly, in
// place (the output over an input), and with FZ_GPU through the CUDA backend.

#include <loom/loom.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "callables.hpp"
#include "gradient.hpp"
#include "session.hpp"

namespace fz {

template <class T>
constexpr ref::dtype dtype_of() {
  if constexpr (std::is_same_v<T, bool>)
    return ref::dtype::boolean;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return ref::dtype::i32;
  else if constexpr (std::is_same_v<T, float>)
    return ref::dtype::f32;
  else if constexpr (std::is_same_v<T, loom::bf16>)
    return ref::dtype::bf16;
  else if constexpr (std::is_same_v<T, loom::f16>)
    return ref::dtype::f16;
  else
    return ref::dtype::f64;
}

inline loom::shape to_shape(const std::vector<std::size_t>& dims) {
  loom::shape s;
  s.rank = dims.size();
  for (std::size_t d = 0; d < dims.size(); ++d) s.dims[d] = dims[d];
  return s;
}

inline std::vector<std::size_t> dims_of(const loom::shape& s) {
  return {s.dims.begin(), s.dims.begin() + s.rank};
}

// A result's elements as doubles; a bool as its byte, so that one never written shows.
template <class Tensor>
std::vector<double> values_of(const Tensor& t) {
  using T = typename Tensor::value_type;
  std::vector<double> v(t.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if constexpr (std::is_same_v<T, bool>) {
      unsigned char b;
      std::memcpy(&b, t.data() + i, 1);
      v[i] = b;
    } else {
      v[i] = double(t.data()[i]);
    }
  }
  return v;
}

// The seed of input k's data in one configuration of a model.
inline std::uint64_t data_seed(long seed, int config, int input) {
  return std::uint64_t(seed) * 1000003u + std::uint64_t(config) * 1009u +
         std::uint64_t(input) * 17u;
}

template <class T, class E>
loom::tensor<T, E> input(const std::vector<std::size_t>& dims, const dist& d, std::uint64_t seed) {
  loom::tensor<T, E> t(to_shape(dims));
  std::vector<double> v(t.size());
  fill(v, dtype_of<T>(), d, seed);
  for (std::size_t i = 0; i < v.size(); ++i) t.data()[i] = static_cast<T>(v[i]);
  return t;
}

template <class Tensor>
ref::tensor leaf(const Tensor& t) {
  return ref::from_values(
      dtype_of<typename Tensor::value_type>(), dims_of(t.shape()), values_of(t));
}

// A C++ scalar or literal as the dtype it adopts, converted as loom converts it.
template <class T, class V>
ref::tensor adopted(V v) {
  return ref::constant(dtype_of<T>(), double(static_cast<T>(v)));
}

// What one case of a model must give.
struct expectation {
  std::vector<ref::tensor> outputs;
  std::vector<std::string> types;                  // dtype and static extents: "f32[?, 4]"
  std::vector<std::pair<int, long>> calls;         // an impure callable's slot, calls per run
  std::vector<std::pair<int, ref::tensor>> hooks;  // a hook's slot and the value it sees
  bool throws = false;                             // loom::shape_error
};

template <class Tensor>
std::string type_of() {
  using T = typename std::remove_cvref_t<Tensor>::value_type;
  using E = typename std::remove_cvref_t<Tensor>::extents_type;
  return std::string(loom::dtype_name<T>()) + loom::extents_string<E>();
}

template <class R>
auto as_tuple(R&& r) {
  if constexpr (loom::detail::is_tuple_v<std::remove_cvref_t<R>>)
    return std::forward<R>(r);
  else
    return std::make_tuple(std::forward<R>(r));
}

template <class Tuple>
void check_outputs(session& s, const expectation& want, const Tuple& outs) {
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    (
        [&] {
          const auto& out = std::get<K>(outs);
          const std::string label = "output " + std::to_string(K);
          const std::string type = type_of<decltype(out)>();
          if (type != want.types[K])
            s.fail(label + " has type " + type + ", want " + want.types[K]);
          s.compare(label, want.outputs[K], values_of(out), dims_of(out.shape()));
        }(),
        ...);
  }
  (std::make_index_sequence<std::tuple_size_v<Tuple>>{});
}

void check_side_effects(session& s, const expectation& want, context& ctx, bool count_calls);

// An in-place run that loom refused, as it may where the model reads the input after writing
// the output (loom::alias_error, "overlaps" in the message), having written nothing.
struct refused {};

// Runs one mode and checks what it gives, or that it throws loom::shape_error where the
// reference has no value.
template <class Run>
void run_mode(session& s, const expectation& want, context& ctx, bool count_calls, Run run) {
  ctx.reset();
  try {
    auto outs = as_tuple(run());
    if (want.throws) {
      s.fail("no loom::shape_error thrown (max, min or argmax over an empty axis)");
      return;
    }
    if (std::tuple_size_v<decltype(outs)> != want.outputs.size()) {
      s.fail("wrong number of results");
      return;
    }
    check_outputs(s, want, outs);
    check_side_effects(s, want, ctx, count_calls);
  } catch (const loom::shape_error& e) {
    if (!want.throws) s.fail(std::string("unexpected loom::shape_error: ") + e.what());
  } catch (const refused&) {
  } catch (const std::exception& e) {
    s.fail(std::string("unexpected exception: ") + e.what());
  }
}

template <std::size_t I, std::size_t J, class B, class A>
const auto& pick(const B& buffer, const A& arg) {
  if constexpr (I == J)
    return buffer;
  else
    return arg;
}

// m.run() with its first output written over input J, the other outputs into new tensors.
template <std::size_t J, class Model, class... In>
auto run_inplace(const Model& m, const expectation& want, const In&... in) {
  auto args = std::forward_as_tuple(in...);
  auto buffer = std::get<J>(args);
  using out0 = typename Model::template output_tensor<0>;
  if constexpr (!std::is_same_v<typename decltype(buffer)::value_type, typename out0::value_type>) {
    throw std::logic_error("fuzz: the in-place input's dtype is not the result's");
    return std::make_tuple(buffer);
  } else {
    auto rest = [&]<std::size_t... K>(std::index_sequence<K...>) {
      return std::tuple<typename Model::template output_tensor<K + 1>...>{
          typename Model::template output_tensor<K + 1>(to_shape(want.outputs[K + 1].shape))...};
    }
    (std::make_index_sequence<Model::output_count - 1>{});
    auto outs = std::apply([&](auto&... r) { return std::tie(buffer, r...); }, rest);
    try {
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        m.run(outs, pick<I, J>(buffer, std::get<I>(args))...);
      }
      (std::index_sequence_for<In...>{});
    } catch (const loom::error& e) {
      if (std::string(e.what()).find("overlaps") == std::string::npos) throw;
      const auto& original = std::get<J>(args);
      if (std::memcmp(buffer.data(), original.data(), original.size() * sizeof(*original.data())))
        throw std::runtime_error(std::string("a refused in-place run wrote its output: ") +
                                 e.what());
      throw refused{};
    }
    return std::tuple_cat(std::make_tuple(std::move(buffer)), std::move(rest));
  }
}

// The gradient check (gradient.hpp) of gradient model `gm` on inputs `xs` and cotangents
// `cs`, on each thread count: each gradient has its input's dtype and extents, and agrees
// with finite differences of the reference along a random direction.
template <class Model, class... X, class... C>
void check_gradient(session& s,
                    long seed,
                    Model& gm,
                    const reference_fn& reference,
                    const gradient_spec& spec,
                    const std::tuple<const X&...>& xs,
                    const std::tuple<const C&...>& cs) {
  s.begin(seed, 0, "gradient");
  const std::vector<std::string> input_types{type_of<X>()...};
  const gradient_probe probe = probe_gradient(
      reference,
      spec,
      std::apply([](const auto&... x) { return std::vector<ref::tensor>{leaf(x)...}; }, xs),
      std::apply([](const auto&... c) { return std::vector<ref::tensor>{leaf(c)...}; }, cs),
      data_seed(seed, 0, 999));
  if (!probe.unusable.empty() && s.opt.verbose)
    std::printf("  values left out: %s\n", probe.unusable.c_str());
  // Run even where the values cannot be compared: the types, and no exception, still count.
  for (int threads : s.opt.threads) {
    s.begin(seed, 0, "gradient/" + std::to_string(threads));
    gm.set_threads(threads);
    try {
      const auto grads =
          as_tuple(std::apply([&](const auto&... a) { return gm(a...); }, std::tuple_cat(xs, cs)));
      std::vector<std::vector<double>> got;
      std::size_t k = 0;
      std::apply(
          [&](const auto&... g) {
            (
                [&] {
                  const std::string type = type_of<decltype(g)>();
                  if (type != input_types[spec.wrt[k]])
                    s.fail("gradient " + std::to_string(k) + " has type " + type + ", want " +
                           input_types[spec.wrt[k]]);
                  got.push_back(values_of(g));
                  ++k;
                }(),
                ...);
          },
          grads);
      if (probe.unusable.empty())
        compare_gradient(s, probe, got, spec.f64);
      else
        ++s.gradients_undetermined;
    } catch (const std::exception& e) {
      s.fail(std::string("unexpected exception: ") + e.what());
    }
  }
}

#ifdef FZ_GPU
// The CPU's fused results as what the GPU must give: both lie within the reference's bound of
// the exact value, so within twice that of each other.
template <class Tuple>
expectation against(const expectation& want, const Tuple& cpu) {
  expectation e = want;
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    ((e.outputs[K].value = values_of(std::get<K>(cpu))), ...);
  }
  (std::make_index_sequence<std::tuple_size_v<Tuple>>{});
  for (auto& out : e.outputs)
    for (double& b : out.bound) b *= 2;
  return e;
}

// The stream every GPU run of the program uses.
inline cudaStream_t gpu_stream() {
  static cudaStream_t stream = [] {
    cudaStream_t s = nullptr;
    loom::cuda::check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
    return s;
  }();
  return stream;
}

template <class Model, class... In>
auto run_gpu(const Model& m, const In&... in) {
  const auto gpu = loom::cuda::to_cuda(m);
  cudaStream_t stream = gpu_stream();
  auto device_in = std::make_tuple(loom::cuda::to_device(in, stream)...);
  auto device_out =
      as_tuple(std::apply([&](const auto&... x) { return gpu(stream, x...); }, device_in));
  return std::apply(
      [&](const auto&... d) { return std::make_tuple(loom::cuda::to_host(d, stream)...); },
      device_out);
}
#endif

// With --dump: each input and wanted result of the case, for a standalone reproducer
// (shrink.py reads them).
void dump(int config, const std::string& name, const ref::tensor& t);

template <class... In>
void dump_case(const session& s, int config, const expectation& want, const In&... in) {
  if (!s.opt.dump) return;
  int k = 0;
  (dump(config, "x" + std::to_string(k++), leaf(in)), ...);
  for (std::size_t o = 0; o < want.outputs.size(); ++o)
    dump(config, "want" + std::to_string(o), want.outputs[o]);
}

// Every mode of one case. Inplace is the input that output 0 may overwrite, or -1; Eager
// says whether to call the model with tensors too (a compile-time choice: eager mode
// instantiates a compiled model per op, which costs compile time).
template <int Inplace, bool Eager, class Model, class Fn, class... In>
void run_case(session& s,
              long seed,
              int config,
              context& ctx,
              Model& m,
              const Fn& f,
              const expectation& want,
              const In&... in) {
  dump_case(s, config, want, in...);
  for (int threads : s.opt.threads) {
    s.begin(seed, config, "compiled/" + std::to_string(threads));
    m.set_threads(threads);
    run_mode(s, want, ctx, true, [&] { return m(in...); });
  }
  if constexpr (Eager) {
    if (s.opt.eager) {
      s.begin(seed, config, "eager");
      run_mode(s, want, ctx, true, [&] { return f(in...); });
    }
  }
  if constexpr (Inplace >= 0) {
    // (Where the reference has no value, the other results' shapes are unknown: the compiled
    // modes have checked the throw.)
    if (s.opt.inplace && !want.throws) {
      s.begin(seed, config, "inplace");
      m.set_threads(1);
      // The first result is the input's buffer, with the input's static extents.
      expectation over_input = want;
      over_input.types[0] = type_of<std::tuple_element_t<Inplace, std::tuple<In...>>>();
      run_mode(s, over_input, ctx, true, [&] {
        return run_inplace<std::size_t(Inplace)>(m, want, in...);
      });
    }
  }
#ifdef FZ_GPU
  // A model whose copies disagree runs op by op, which the CUDA backend refuses to do.
  if constexpr (requires { m.apart(); })
    if (m.apart()) return;
  s.begin(seed, config, "gpu");
  run_mode(s, want, ctx, false, [&] { return run_gpu(m, in...); });
  if (!want.throws) {
    s.begin(seed, config, "gpu-vs-cpu");
    m.set_threads(1);
    run_mode(s, against(want, as_tuple(m(in...))), ctx, false, [&] { return run_gpu(m, in...); });
  }
#endif
}

}  // namespace fz
