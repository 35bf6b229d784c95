#pragma once

#include <array>
#include <cstddef>
#include <cstring>
#include <string>
#include <utility>

#include "loom/backends/cpu/run_group.hpp"
#include "loom/backends/cpu/stash.hpp"
#include "loom/core/shape.hpp"
#include "loom/tensor/pool.hpp"

namespace loom::cpu {

// The values one map step stores are walked as one iteration space. The plan only puts
// values together whose dynamic extents come from the same place, so they always agree;
// this guards that promise before anything is written, since a mismatch would write out of
// bounds.
template <class G>
void check_step_shapes(const call_frame<G::node_count>& f) {
  using plan = fusion_plan<G>;
  for (std::size_t i = 0; i < G::node_count; ++i) {
    if (!plan::materialized[i] || plan::step_of[i] == plan::npos) continue;
    const auto& step = plan::steps[plan::step_of[i]];
    if (step.kind != step_kind::map || step.node == i) continue;
    if (!(f.shapes[i] == f.shapes[step.node]))
      throw shape_error("loom: %" + std::to_string(step.node) + " and %" + std::to_string(i) +
                        " share a pass but differ at run time: " + f.shapes[step.node].to_string() +
                        " and " + f.shapes[i].to_string() +
                        " (a loom planning error; please report it)");
  }
}

// An impure callable must run once per element of its value, as in eager mode; inside a
// pass over a larger, broadcast shape it would run once per element of that shape.
template <class G>
void check_impure_shapes(const call_frame<G::node_count>& f) {
  using plan = fusion_plan<G>;
  constexpr bool any_impure = [] {
    for (const auto& n : plan::nodes)
      if (n.impure) return true;
    return false;
  }();
  if constexpr (!any_impure) return;
  for (std::size_t s = 0; s < plan::step_count; ++s) {
    if (plan::steps[s].kind != step_kind::map && plan::steps[s].kind != step_kind::reduce) continue;
    const std::size_t space_node = plan::steps[s].kind == step_kind::map
                                       ? plan::steps[s].node
                                       : plan::nodes[plan::steps[s].node].args[0];
    const shape& space = f.shapes[space_node];
    for (std::size_t i = 0; i < G::node_count; ++i)
      if (plan::per_step.computes[s][i] && plan::nodes[i].impure &&
          f.shapes[i].size() != space.size())
        throw trace_error("loom: impure opaque node %" + std::to_string(i) + " computes " +
                          f.shapes[i].to_string() + " elements inside a pass over " +
                          space.to_string() +
                          "; broadcasting would call it once per output element");
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

// A step must not read an input after an output was written over it: running in place is
// allowed only where the output is the input's buffer exactly (same start, shape and
// dtype), the step that writes it is the last to read the input, and reads it element for
// element.
template <class G>
void check_in_place(const call_frame<G::node_count>& f,
                    const std::array<void*, G::output_count>& outputs) {
  using plan = fusion_plan<G>;
  for (std::size_t k = 0; k < G::output_count; ++k) {
    const std::size_t o = G::outputs[k];
    const void* out = outputs[k];
    const std::size_t out_bytes = bytes_of<G>(f, o);
    for (std::size_t i = 0; i < G::node_count; ++i) {
      if (plan::nodes[i].kind != node_kind::input) continue;
      const auto* in = static_cast<const unsigned char*>(f.data[i]);
      if (!overlaps(in, bytes_of<G>(f, i), out, out_bytes)) continue;
      // Only the same buffer element for element: a shifted, broadcast or wider output
      // would overwrite elements other threads or blocks still read.
      const bool same_elements = in == out && f.shapes[i] == f.shapes[o] &&
                                 plan::nodes[i].element_size == plan::nodes[o].element_size;
      const std::size_t writer = plan::step_of[o];
      bool safe = same_elements && plan::steps[writer].kind == step_kind::map;
      for (std::size_t s = 0; s < plan::step_count && safe; ++s)
        for (std::size_t x = 0; x < G::node_count && safe; ++x)
          if (plan::per_step.loads[s][x] && plan::base_of(x) == i)
            safe = s < writer || (s == writer && x == i);
      for (std::size_t s = writer + 1; s < plan::step_count && safe; ++s)
        if (plan::steps[s].kind != step_kind::map && plan::steps[s].kind != step_kind::reduce)
          for (std::size_t a = 0; a < plan::nodes[plan::steps[s].node].arity; ++a)
            safe = safe && plan::base_of(plan::nodes[plan::steps[s].node].args[a]) != i;
      if (!safe)
        throw error("loom: output " + std::to_string(k) +
                    " overlaps an input that is read after the output is written; run it "
                    "into another buffer");
    }
  }
}

// Buffers for the materialised values that are not outputs, for one call: small ones from an
// arena inside this object (the per-row values of a softmax or layer norm over a few rows),
// the rest from loom's pool, whose lock and map cost each way about what a layer norm of one
// row of 1024 does. `Count` bounds the number of buffers (the graph's node count).
template <std::size_t Count>
class scratch {
 public:
  void* take(std::size_t bytes) {
    const std::size_t rounded = (bytes + alignment - 1) / alignment * alignment;
    if (rounded <= sizeof(arena_) - used_) {
      void* p = arena_ + used_;
      used_ += rounded;
      return p;
    }
    void* p = buffer_pool::instance().allocate(bytes);
    held_[count_++] = {p, bytes};
    return p;
  }
  scratch() = default;
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;
  ~scratch() {
    for (std::size_t k = 0; k < count_; ++k)
      buffer_pool::instance().release(held_[k].first, held_[k].second);
  }

 private:
  static constexpr std::size_t alignment = buffer_pool::alignment;
  alignas(alignment) unsigned char arena_[8192];
  std::size_t used_ = 0;
  std::array<std::pair<void*, std::size_t>, Count> held_;
  std::size_t count_ = 0;
};

// The earlier node of the same call, for a copy of a whole-tensor call (npos otherwise).
template <class G>
std::size_t first_copy(const G& g, std::size_t i) {
  std::size_t first = fusion_plan<G>::npos;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          if constexpr (kind_of<node_t<G, I>>() == node_kind::opaque_call) {
            const auto& op = hana::at_c<I>(g.nodes).op;
            if (I == i && op.alias != op.no_alias) first = op.alias;
          }
        }(),
        ...);
  }
  (std::make_index_sequence<G::node_count>{});
  return first;
}

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
    std::size_t output = G::output_count;
    for (std::size_t k = G::output_count; k-- > 0;)
      if (G::outputs[k] == i) output = k;
    const node_kind kind = plan::nodes[i].kind;
    if (output < G::output_count)
      f.data[i] = outputs[output];
    else if (kind == node_kind::hook || kind == node_kind::barrier)
      f.data[i] = f.data[plan::nodes[i].args[0]];
    else if (const std::size_t first = first_copy(g, i); first != plan::npos)
      f.data[i] = f.data[first];
    else
      f.data[i] = temps.take(f.shapes[i].size() * plan::nodes[i].element_size);
  }
  resolve_layouts<G>(f);
}

// The buffer of each stash (stash.hpp): the one of the value whose buffer it borrows, unless
// that buffer overlaps an input (a model run in place), which the stash would overwrite before
// the input's last read; scratch then.
template <class G, class Scratch>
void assign_stashes(call_frame<G::node_count>& f, Scratch& temps) {
  using plan = fusion_plan<G>;
  for (std::size_t e = 0; e < G::node_count; ++e) {
    const std::size_t into = stash_plan<G>::stashes.into[e];
    if (into == plan::npos) continue;
    bool shared = false;
    for (std::size_t i = 0; i < G::node_count; ++i)
      shared =
          shared || (plan::nodes[i].kind == node_kind::input &&
                     overlaps(f.data[i], bytes_of<G>(f, i), f.data[into], bytes_of<G>(f, into)));
    f.data[e] = shared ? temps.take(bytes_of<G>(f, e)) : f.data[into];
  }
}

// Runs every group of the plan, writing output k of the graph to outputs[k].
template <class G>
void execute(const G& g,
             call_frame<G::node_count>& f,
             const std::array<void*, G::output_count>& outputs,
             int threads) {
  check_in_place<G>(f, outputs);
  scratch<G::node_count> temps;
  assign_buffers<G>(g, f, outputs, temps);
  assign_stashes<G>(f, temps);
  [&]<std::size_t... Group>(std::index_sequence<Group...>) {
    (group_runner<G, Group, stash_reads>::run(g, f, threads), ...);
  }
  (std::make_index_sequence<fusion_plan<G>::group_count>{});
  // A value returned twice is computed once, into the first output that returns it.
  for (std::size_t k = 0; k < G::output_count; ++k) {
    const std::size_t o = G::outputs[k];
    if (outputs[k] != f.data[o])
      std::memcpy(
          outputs[k], f.data[o], f.shapes[o].size() * fusion_plan<G>::nodes[o].element_size);
  }
}

}  // namespace loom::cpu
