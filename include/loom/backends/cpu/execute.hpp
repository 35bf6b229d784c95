#pragma once

#include <array>
#include <cstddef>
#include <cstring>
#include <string>
#include <utility>

#include "loom/backends/common/buffers.hpp"
#include "loom/backends/cpu/run_group.hpp"
#include "loom/backends/cpu/stash.hpp"
#include "loom/core/shape.hpp"
#include "loom/tensor/pool.hpp"

namespace loom::cpu {

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

// The buffer of each stash (stash.hpp): the one of the value whose buffer it borrows, unless
// that buffer overlaps an input (a model run in place), which the stash would overwrite before
// the input's last read; scratch then.
template <class G, class Scratch>
void assign_stashes(common::call_frame<G::node_count>& f, Scratch& temps) {
  using plan = fusion_plan<G>;
  if constexpr (stash_plan<G>::any) {  // most plans have none: no code for them
    for (std::size_t e = 0; e < G::node_count; ++e) {
      const std::size_t into = stash_plan<G>::stashes.into[e];
      if (into == plan::npos) continue;
      bool shared = false;
      for (std::size_t i = 0; i < G::node_count; ++i)
        shared =
            shared ||
            (plan::nodes[i].kind == node_kind::input &&
             common::overlaps(
                 f.data[i], common::bytes_of<G>(f, i), f.data[into], common::bytes_of<G>(f, into)));
      f.data[e] = shared ? temps.take(common::bytes_of<G>(f, e)) : f.data[into];
    }
  }
}

// Runs every group of the plan, writing output k of the graph to outputs[k]. The caller has
// checked that the outputs may be written (common::check_aliasing), unless they are new
// tensors, which overlap nothing.
template <class G>
void execute(const G& g,
             common::call_frame<G::node_count>& f,
             const std::array<void*, G::output_count>& outputs,
             int threads) {
  scratch<G::node_count> temps;
  common::assign_buffers<G>(g, f, outputs, temps);
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
