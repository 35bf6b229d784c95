#pragma once

#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "loom/backends/common/evaluate.hpp"
#include "loom/core/dtype.hpp"
#include "loom/graph/ops/signature.hpp"
#include "loom/graph/plan.hpp"

namespace loom::cpu {

// Stashes: a value that a group's reduce step computes and a later map step of the same rows
// computes again, such as softmax's exp(x - max), summed by one step and divided by the sum
// in the next. The reduce step also stores it, into the buffer of a value the map step
// writes (softmax's output), and the map step loads it from there and overwrites it: one
// exp per element instead of two, as hand-written softmax loops do, and no extra memory.
// Only values that cost more to compute than a store and a load from L1 are stashed: those
// that need an op of cost `worth_stashing` or more (a division, a square root, a
// transcendental op, an opaque callable that declares no cheaper cost; ops/concept.hpp).
template <class G>
struct stash_plan {
  using plan = fusion_plan<G>;
  static constexpr std::size_t N = G::node_count;
  static constexpr std::size_t npos = plan::npos;
  static constexpr int worth_stashing = 4;

  static constexpr auto costly = [] {
    std::array<bool, N> r{};
    for (std::size_t i = 0; i < N; ++i) r[i] = plan::nodes[i].cost >= worth_stashing;
    return r;
  }();
  static constexpr auto dtype = []<std::size_t... I>(std::index_sequence<I...>) {
    return std::array<int, N>{loom::detail::dtype_rank<typename node_t<G, I>::value_type>...};
  }
  (std::make_index_sequence<N>{});

  struct table {
    std::array<std::size_t, N> by{};       // a stashed value: the reduce step that stores it
    std::array<std::size_t, N> reader{};   // ... the map step that loads it
    std::array<std::size_t, N> into{};     // ... the value whose buffer holds it
    std::array<std::size_t, N> of_step{};  // a reduce step: the value it stashes
  };

  // The topmost value computed by both steps whose computation in `later` needs a costly op.
  static constexpr std::size_t shared_costly_value(std::size_t reduce, std::size_t later) {
    const auto& computes = plan::per_step.computes;
    std::array<bool, N> costly_here{};
    for (std::size_t x = 0; x < N; ++x) {
      if (!computes[later][x]) continue;
      costly_here[x] = costly[x];
      for (std::size_t j = 0; j < plan::nodes[x].arity; ++j)
        costly_here[x] = costly_here[x] || costly_here[plan::nodes[x].args[j]];
    }
    for (std::size_t x = N; x-- > 0;)
      if (costly_here[x] && computes[reduce][x] &&
          plan::same_shape_always(x, plan::space_node(later)))
        return x;
    return npos;
  }

  static constexpr table stashes = [] {
    table t;
    for (std::size_t i = 0; i < N; ++i) t.by[i] = t.reader[i] = t.into[i] = t.of_step[i] = npos;
    std::array<bool, N> taken{};  // buffers that already hold a stash
    // `!=`, not `<`: a plan may have no steps, where nvcc warns that `m < 0` is pointless
    // (and `s < 0` below).
    for (std::size_t m = 0; m != plan::step_count; ++m) {
      const std::size_t group = plan::group_of_step(m);
      if (plan::steps[m].kind != step_kind::map || plan::group_has_impure(group)) continue;
      for (std::size_t r = m; r-- > plan::groups[group].first_step;) {
        if (plan::steps[r].kind != step_kind::reduce || plan::steps[r].split == npos ||
            t.of_step[r] != npos ||
            !plan::same_shape_always(plan::space_node(r), plan::space_node(m)))
          continue;
        const std::size_t e = shared_costly_value(r, m);
        if (e == npos) continue;
        std::size_t o = npos;
        for (std::size_t x = 0; x < N && o == npos; ++x)
          if (plan::per_step.stores[m][x] && !taken[x] && dtype[x] == dtype[e] &&
              plan::nodes[x].kind != node_kind::view && plan::same_shape_always(x, e))
            o = x;
        if (o == npos) continue;
        t.by[e] = r;
        t.reader[e] = m;
        t.into[e] = o;
        t.of_step[r] = e;
        taken[o] = true;
        break;
      }
    }
    return t;
  }();

  static constexpr bool any = [] {
    for (std::size_t r : stashes.of_step)
      if (r != npos) return true;
    return false;
  }();

  static constexpr auto reads = [] {
    std::array<typename plan::step_reads, N> r{};
    for (std::size_t s = 0; s != plan::step_count; ++s) {
      std::array<bool, N> stashed{};
      for (std::size_t e = 0; e < N; ++e) stashed[e] = stashes.reader[e] == s;
      r[s] = plan::reads_of_step(s, stashed);
    }
    return r;
  }();
};

// step_nodes' and evaluate's `Reads` with the stashes: the step that stores a stash, the one
// that loads it instead of computing it.
template <class G, std::size_t Step>
struct stash_reads {
  using choice = stash_plan<G>;
  static constexpr std::array<bool, G::node_count> loads = choice::reads[Step].loads;
  static constexpr std::array<bool, G::node_count> computes = choice::reads[Step].computes;
  static constexpr std::array<bool, G::node_count> stores = choice::reads[Step].stores;
  static constexpr std::size_t stash = choice::stashes.of_step[Step];
  static constexpr std::size_t stash_into =
      stash == choice::npos ? choice::npos : choice::stashes.into[stash];
  static constexpr auto from_stash = [] {
    std::array<bool, G::node_count> r{};
    for (std::size_t e = 0; e < G::node_count; ++e) r[e] = choice::stashes.reader[e] == Step;
    return r;
  }();
};

}  // namespace loom::cpu
