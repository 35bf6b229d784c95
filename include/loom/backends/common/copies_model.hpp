#pragma once

#include <optional>
#include <utility>

namespace loom::detail {

// A model whose trace merged copies of values built on run-time state (C++ scalars,
// stateful callables). `Shared` is the model with the copies of each such value merged into
// one node: its graph, plan and counts are this model's. `Apart` computes every value on
// its own; a model runs it only where two values merged by type hold different states
// (x * 2.f + x * 3.f), which compile() finds once, at trace time.
template <class Shared, class Apart>
class copies_model : public Shared {
 public:
  using shared_model = Shared;

  copies_model(Shared shared, std::optional<Apart> apart)
      : Shared(std::move(shared)), apart_(std::move(apart)) {}

  // The model that runs in place of this one where the copies disagree, else null.
  const Apart* apart() const { return apart_ ? &*apart_ : nullptr; }

  template <class... Args>
  auto operator()(Args&&... args) const {
    if (apart_) return (*apart_)(std::forward<Args>(args)...);
    return Shared::operator()(std::forward<Args>(args)...);
  }

  template <class... Args>
  void run(Args&&... args) const {
    if (apart_)
      apart_->run(std::forward<Args>(args)...);
    else
      Shared::run(std::forward<Args>(args)...);
  }

 private:
  std::optional<Apart> apart_;
};

}  // namespace loom::detail
