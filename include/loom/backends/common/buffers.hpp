#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <utility>

#include "loom/backends/common/frame.hpp"
#include "loom/core/errors.hpp"
#include "loom/graph/flatten.hpp"

// What every backend does with a call's buffers before it runs the plan: checks that the
// caller's outputs may be written, and gives each materialised value its buffer.
namespace loom::common {

// The first value of the map step that stores value i beside it (a pass with several
// results), or npos.
template <class G>
constexpr std::size_t pass_first(std::size_t i) {
  using plan = fusion_plan<G>;
  if (!plan::materialized[i] || plan::step_of[i] == plan::npos) return plan::npos;
  const auto& step = plan::steps[plan::step_of[i]];
  return step.kind == step_kind::map && step.node != i ? step.node : plan::npos;
}

// The nodes i for which Keep(i) holds, in order, as a constant array: what the checks below
// visit on every call, found once per graph instead of by a walk over every node.
template <std::size_t N, class Keep>
constexpr auto nodes_where(Keep) {
  constexpr std::size_t count = [] {
    std::size_t c = 0;
    for (std::size_t i = 0; i < N; ++i) c += Keep{}(i);
    return c;
  }();
  std::array<std::size_t, count> list{};
  std::size_t c = 0;
  for (std::size_t i = 0; i < N; ++i)
    if (Keep{}(i)) list[c++] = i;
  return list;
}

template <class G>
inline constexpr auto pass_sharers = nodes_where<G::node_count>([](std::size_t i) {
  return pass_first<G>(i) != fusion_plan<G>::npos;
});

template <class G>
inline constexpr auto input_nodes = nodes_where<G::node_count>([](std::size_t i) {
  return fusion_plan<G>::nodes[i].kind == node_kind::input;
});

// The values one map step stores are walked as one iteration space. The plan only puts
// values together whose dynamic extents come from the same place, so they always agree;
// this guards that promise before anything is written, since a mismatch would write out of
// bounds. Plans where each value has a pass of its own get no code.
template <class G>
void check_step_shapes(const call_frame<G::node_count>& f) {
  for (std::size_t i : pass_sharers<G>) {
    const std::size_t first = pass_first<G>(i);
    if (!(f.shapes[i] == f.shapes[first]))
      throw shape_error("loom: %" + std::to_string(first) + " and %" + std::to_string(i) +
                        " share a pass but differ at run time: " + f.shapes[first].to_string() +
                        " and " + f.shapes[i].to_string() +
                        " (a loom planning error; please report it)");
  }
}

template <class G>
std::size_t bytes_of(const call_frame<G::node_count>& f, std::size_t i) {
  return f.shapes[i].size() * fusion_plan<G>::nodes[i].element_size;
}

inline bool overlaps(const void* a, std::size_t a_bytes, const void* b, std::size_t b_bytes) {
  const auto *x = static_cast<const unsigned char*>(a), *y = static_cast<const unsigned char*>(b);
  return a_bytes != 0 && b_bytes != 0 && x < y + b_bytes && y < x + a_bytes;
}

// The position among the model's inputs of each input node (npos for other nodes).
template <class G, std::size_t I>
constexpr std::size_t input_number() {
  using Op = typename node_t<G, I>::op_type;
  if constexpr (loom::detail::is_input_leaf_v<Op>)
    return Op::index;
  else
    return fusion_plan<G>::npos;
}
template <class G>
inline constexpr auto input_numbers = []<std::size_t... I>(std::index_sequence<I...>) {
  return std::array<std::size_t, G::node_count>{input_number<G, I>()...};
}
(std::make_index_sequence<G::node_count>{});

template <class G>
constexpr bool is_output(std::size_t x) {
  for (std::size_t o : G::outputs)
    if (o == x) return true;
  return false;
}

// The value whose buffer holds x: a view read in place reads its base's, and a hook or a
// barrier that is not an output keeps its operand's (assign_buffers).
template <class G>
constexpr std::size_t storage_of(std::size_t x) {
  using plan = fusion_plan<G>;
  for (;;) {
    const node_kind k = plan::nodes[x].kind;
    if ((k == node_kind::view && !plan::plain(x)) ||
        (traits_of(k).same_as_operand && !is_output<G>(x)))
      x = plan::nodes[x].args[0];
    else
      return x;
  }
}

// Whether step s, of the group that writes over input i, reads i only in the rows it
// writes: in place, element for element or one element per row (a row's mean), or as
// the left operand of its GEMM, whose rows are the product's. The group's other threads and
// blocks then never read what a block has overwritten. A view, a GEMM's right operand or a
// value broadcast across rows reads other rows.
template <class G>
bool reads_own_rows(const call_frame<G::node_count>& f,
                    std::size_t s,
                    std::size_t x,
                    std::size_t i) {
  using plan = fusion_plan<G>;
  const auto& step = plan::steps[s];
  const shape& in = f.shapes[i];
  if (x != i) return false;
  if (step.kind == step_kind::matmul) {
    const shape& product = f.shapes[step.node];
    return plan::nodes[step.node].args[0] == i && in.rank == product.rank &&
           (in.rank < 3 || in.dims[0] == product.dims[0]);
  }
  const shape& space = f.shapes[plan::space_node(s)];
  const std::size_t split = plan::groups[plan::group_of_step(s)].split;
  if (in == space) return true;
  if (split == plan::npos || in.rank != space.rank) return false;
  for (std::size_t d = 0; d < in.rank; ++d)
    if (in.dims[d] != (d < split ? space.dims[d] : 1)) return false;
  return true;
}

// A read of an input's buffer by step `step`: of value `value`, or (npos) through the index
// map of a view the step stores, or as an operand a GEMM or call reads from memory.
struct buffer_read {
  std::size_t step, value, buffer;
};

// Calls visit(read) for every read of an input's buffer, in step order.
template <class G, class Visit>
constexpr void for_each_input_read(Visit&& visit) {
  using plan = fusion_plan<G>;
  const auto of_input = [](std::size_t x) {
    return plan::nodes[x].kind == node_kind::input;
  };
  // `!=`, not `<`: a plan may have no steps, where nvcc warns that `s < 0` is pointless.
  for (std::size_t s = 0; s != plan::step_count; ++s) {
    for (std::size_t x = 0; x < G::node_count; ++x) {
      if (!plan::per_step.loads[s][x]) continue;
      // A view the step stores is read through its index map, from its operand's buffer.
      const bool stored_view =
          plan::nodes[x].kind == node_kind::view && plan::per_step.stores[s][x];
      const std::size_t read = storage_of<G>(stored_view ? plan::nodes[x].args[0] : x);
      if (of_input(read)) visit(buffer_read{s, stored_view ? plan::npos : x, read});
    }
    // GEMMs and calls read their operands from memory, outside the per-element loads.
    const std::size_t n = plan::steps[s].node;
    if (plan::steps[s].kind == step_kind::matmul || plan::steps[s].kind == step_kind::call)
      for (std::size_t a = 0; a < plan::nodes[n].arity; ++a) {
        const std::size_t read = storage_of<G>(plan::nodes[n].args[a]);
        if (of_input(read)) visit(buffer_read{s, plan::nodes[n].args[a], read});
      }
  }
}

// Every read of an input's buffer, grouped by buffer (in step order within each), and where
// each buffer's reads start: may_run_in_place, called per call for each output written in
// place, looks at its own input's reads only (a training step reads its 27 inputs 60 times).
template <class G>
struct input_reads {
  static constexpr auto first = [] {
    std::array<std::size_t, G::node_count + 1> at{};
    for_each_input_read<G>([&](buffer_read r) { ++at[r.buffer + 1]; });
    for (std::size_t i = 0; i < G::node_count; ++i) at[i + 1] += at[i];
    return at;
  }();
  static constexpr std::size_t count = first[G::node_count];
  static constexpr auto by_buffer = [] {
    std::array<buffer_read, count> list{};
    auto next = first;
    for_each_input_read<G>([&](buffer_read r) { list[next[r.buffer]++] = r; });
    return list;
  }();
};

// Whether the model may write output node o over input i, its buffer exactly: the step that
// writes o is a map step that reads i element for element, no later step reads i, and the
// earlier steps of its group read i only in their own rows.
template <class G>
bool may_run_in_place(const call_frame<G::node_count>& f, std::size_t o, std::size_t i) {
  using plan = fusion_plan<G>;
  const std::size_t writer = plan::step_of[o];
  if (o == i) return true;  // the model returns its input: nothing is written
  if (writer == plan::npos || plan::steps[writer].kind != step_kind::map ||
      !(f.shapes[i] == f.shapes[o]) || plan::nodes[i].element_size != plan::nodes[o].element_size)
    return false;
  const std::size_t group = plan::group_of_step(writer);
  auto read_is_safe = [&](std::size_t s, std::size_t x) {
    if (s > writer) return false;
    if (s == writer) return x == i;
    return plan::group_of_step(s) != group || reads_own_rows<G>(f, s, x, i);
  };
  using reads = input_reads<G>;
  for (std::size_t k = reads::first[i]; k != reads::first[i + 1]; ++k)
    if (!read_is_safe(reads::by_buffer[k].step, reads::by_buffer[k].value)) return false;
  return true;
}

// Outputs may not overlap each other, nor an input, except where the model can run in place
// (may_run_in_place). Checked before anything is written, so a refused call leaves the
// outputs as they were.
template <class G>
void check_aliasing(const call_frame<G::node_count>& f,
                    const std::array<void*, G::output_count>& outputs) {
  // Each size once: every output is compared with every input and every earlier output (a
  // training step has 19 outputs and 27 inputs).
  constexpr std::size_t inputs = input_nodes<G>.size();
  std::array<std::size_t, G::output_count> output_bytes;
  std::array<std::size_t, inputs> input_bytes;
  for (std::size_t k = 0; k < G::output_count; ++k) output_bytes[k] = bytes_of<G>(f, G::outputs[k]);
  for (std::size_t j = 0; j != inputs; ++j) input_bytes[j] = bytes_of<G>(f, input_nodes<G>[j]);
  for (std::size_t k = 0; k < G::output_count; ++k) {
    const std::size_t o = G::outputs[k];
    const void* out = outputs[k];
    const std::size_t out_bytes = output_bytes[k];
    for (std::size_t j = 0; j < k; ++j)
      if (overlaps(outputs[j], output_bytes[j], out, out_bytes))
        throw alias_error("loom: outputs " + std::to_string(j) + " and " + std::to_string(k) +
                          " overlap (shapes " + f.shapes[G::outputs[j]].to_string() + " and " +
                          f.shapes[o].to_string() + "); give each result its own buffer");
    for (std::size_t j = 0; j != inputs; ++j) {
      const std::size_t i = input_nodes<G>[j];
      if (!overlaps(f.data[i], input_bytes[j], out, out_bytes)) continue;
      if (f.data[i] != out || !may_run_in_place<G>(f, o, i))
        throw alias_error("loom: output " + std::to_string(k) + " (shape " +
                          f.shapes[o].to_string() + ") overlaps input " +
                          std::to_string(input_numbers<G>[i]) + " (shape " +
                          f.shapes[i].to_string() +
                          "), which is read after the output is written; run it into another "
                          "buffer");
    }
  }
}

// The earlier node of the same call, for a stored copy of an impure call (npos otherwise):
// the copy shares its buffer.
template <class G>
std::size_t first_copy(const G& g, std::size_t i) {
  std::size_t first = fusion_plan<G>::npos;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          if constexpr (requires { node_at<I>(g.nodes).op.alias; }) {
            const auto& op = node_at<I>(g.nodes).op;
            if (I == i && op.alias != op.no_alias && fusion_plan<G>::materialized[op.alias])
              first = op.alias;
          }
        }(),
        ...);
  }
  (std::make_index_sequence<G::node_count>{});
  return first;
}

// The first output that returns each node; output_count for the nodes no output returns.
template <class G>
inline constexpr auto first_output = [] {
  std::array<std::size_t, G::node_count> at{};
  for (std::size_t& a : at) a = G::output_count;
  for (std::size_t k = G::output_count; k-- > 0;) at[G::outputs[k]] = k;
  return at;
}();

// Gives every materialised value its buffer: the caller's for outputs, the operand's for a
// hook or barrier (they change nothing), scratch for the rest; then lays out the views.
// `temps.take(bytes)` gives the scratch: host memory here, the model's device workspace for
// the CUDA backend.
template <class G, class Scratch>
void assign_buffers(const G& g,
                    call_frame<G::node_count>& f,
                    const std::array<void*, G::output_count>& outputs,
                    Scratch& temps) {
  using plan = fusion_plan<G>;
  for (std::size_t i = 0; i < G::node_count; ++i) {
    if (!plan::materialized[i] || plan::nodes[i].kind == node_kind::input) continue;
    const std::size_t output = first_output<G>[i];
    const node_kind kind = plan::nodes[i].kind;
    if (output < G::output_count)
      f.data[i] = outputs[output];
    else if (traits_of(kind).same_as_operand)
      f.data[i] = f.data[plan::nodes[i].args[0]];
    else if (const std::size_t first = first_copy(g, i); first != plan::npos)
      f.data[i] = f.data[first];
    else
      f.data[i] = temps.take(f.shapes[i].size() * plan::nodes[i].element_size);
  }
  resolve_layouts<G>(f);
}

}  // namespace loom::common
