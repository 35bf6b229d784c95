#include "harness.hpp"

#include <cstdio>

namespace fz {

void check_side_effects(session& s, const expectation& want, context& ctx, bool count_calls) {
  if (count_calls)
    for (const auto& [slot, n] : want.calls)
      if (ctx.calls[slot] != n)
        s.fail("impure callable " + std::to_string(slot) + " ran " +
               std::to_string(ctx.calls[slot].load()) + " times, want " + std::to_string(n));
  for (const auto& [slot, value] : want.hooks) {
    const hook_record& h = ctx.hooks[slot];
    if (h.calls != 1) {
      s.fail("hook " + std::to_string(slot) + " ran " + std::to_string(h.calls) +
             " times, want once");
      continue;
    }
    s.compare("hook " + std::to_string(slot), value, h.values, dims_of(h.shape));
  }
}

void dump(int config, const std::string& name, const ref::tensor& t) {
  std::printf(
      "DUMP %d %s %s %s :", config, name.c_str(), ref::name(t.type), shape_string(t.shape).c_str());
  for (double v : t.value) std::printf(" %.17g", v);
  std::printf(" |");
  for (double b : t.bound) std::printf(" %.17g", b);
  std::printf("\n");
}

}  // namespace fz
