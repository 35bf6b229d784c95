#include "gradient.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace fz {

namespace {

// Step along the direction: small enough that a smooth loss is near its tangent, large
// enough that double rounding stays far below the differences.
constexpr double step = 1e-6;
// A forward value whose reference bound exceeds this share of it (or, near 0, an underflow's
// few units of the smallest normal float) is too inexact in loom's dtype for the derivative
// there to be comparable.
constexpr double inexact = 1e-4, underflow = 1e-30;
// The two one-sided differences of a smooth loss agree to within this share of the larger;
// more is a kink, a jump or a loss that turns faster than the step resolves (sin of a huge
// power), and the case is left out.
constexpr double kink = 1e-3;
// A directional derivative above this may hold a gradient element beyond the float range.
constexpr double overflowing = 1e30;

std::string why_inexact(const std::vector<ref::tensor>& nodes) {
  for (std::size_t n = 0; n < nodes.size(); ++n)
    for (std::size_t i = 0; i < nodes[n].size(); ++i) {
      const double v = nodes[n].value[i], b = nodes[n].bound[i];
      if (!std::isfinite(v)) return "node " + std::to_string(n) + " is not finite";
      if (!(b <= inexact * std::fabs(v) + underflow))
        return "node " + std::to_string(n) + " is undetermined or inexact";
    }
  return {};
}

struct loss_value {
  double sum = 0, magnitude = 0;  // sum(output * cotangent), and of its terms' magnitudes
  bool finite = true;
};

// The loss at inputs + t * direction, in exact arithmetic.
loss_value loss_at(const reference_fn& reference,
                   const gradient_spec& spec,
                   std::vector<ref::tensor> inputs,
                   const std::vector<ref::tensor>& cotangents,
                   const std::vector<std::vector<double>>& direction,
                   double t) {
  for (std::size_t k = 0; k < spec.wrt.size(); ++k) {
    ref::tensor& x = inputs[spec.wrt[k]];
    for (std::size_t i = 0; i < x.size(); ++i) x.value[i] += t * direction[k][i];
  }
  ref::set_exact_floats(true);
  const std::vector<ref::tensor> nodes = reference(inputs);
  ref::set_exact_floats(false);
  loss_value l;
  for (std::size_t j = 0; j < spec.loss.size(); ++j) {
    const ref::tensor& out = nodes[spec.loss[j]];
    for (std::size_t i = 0; i < out.size(); ++i) {
      const double term = out.value[i] * cotangents[j].value[i];
      l.sum += term;
      l.magnitude += std::fabs(term);
      l.finite = l.finite && std::isfinite(term);
    }
  }
  return l;
}

}  // namespace

gradient_probe probe_gradient(const reference_fn& reference,
                              const gradient_spec& spec,
                              const std::vector<ref::tensor>& inputs,
                              const std::vector<ref::tensor>& cotangents,
                              std::uint64_t seed) {
  gradient_probe p;
  try {
    ref::take_near_kinks();
    p.unusable = why_inexact(reference(inputs));
    if (p.unusable.empty() && ref::take_near_kinks() > 0)
      p.unusable = "a max, min, relu or abs is within rounding of its kink";
  } catch (const ref::no_value&) {
    p.unusable = "the forward pass has no value";
  }
  if (!p.unusable.empty()) return p;
  // Each element moves by a share of its own magnitude, so that values of every binade stay
  // within the reach of their tangent.
  for (std::size_t k = 0; k < spec.wrt.size(); ++k) {
    const ref::tensor& x = inputs[spec.wrt[k]];
    std::vector<double> u(x.size());
    fill(u, ref::dtype::f64, dist{dist::uniform, -1, 1, 0}, seed + k);
    for (std::size_t i = 0; i < u.size(); ++i) u[i] *= std::fabs(x.value[i]) + 1e-2;
    p.direction.push_back(std::move(u));
  }
  const loss_value at = loss_at(reference, spec, inputs, cotangents, p.direction, 0),
                   ahead = loss_at(reference, spec, inputs, cotangents, p.direction, step),
                   behind = loss_at(reference, spec, inputs, cotangents, p.direction, -step);
  if (!(at.finite && ahead.finite && behind.finite)) {
    p.unusable = "the loss is not finite near the inputs";
    return p;
  }
  p.forward = (ahead.sum - at.sum) / step;
  p.backward = (at.sum - behind.sum) / step;
  p.central = (ahead.sum - behind.sum) / (2 * step);
  // 64 roundings of the largest term in each loss value, over the step.
  p.noise = 64 * 0x1p-52 * std::max({at.magnitude, ahead.magnitude, behind.magnitude}) / step;
  return p;
}

void compare_gradient(session& s,
                      const gradient_probe& p,
                      const std::vector<std::vector<double>>& grads,
                      bool f64) {
  double along = 0, magnitude = 0;
  for (std::size_t k = 0; k < grads.size(); ++k)
    for (std::size_t i = 0; i < grads[k].size(); ++i) {
      const double term = grads[k][i] * p.direction[k][i];
      along += term;
      magnitude += std::fabs(term);
    }
  // Smoothness is judged from the reference alone, so that a wrong gradient cannot make a
  // kink look small (nor a right one make it look large).
  if (std::fabs(p.forward - p.backward) >
      kink * std::max(std::fabs(p.forward), std::fabs(p.backward)) + 2 * p.noise) {
    ++s.gradients_undetermined;
    return;
  }
  if (!std::isfinite(along)) {
    // A gradient of an f32 input beyond FLT_MAX is inf in its dtype (model 15009: pow(x, y)
    // near 1e277 in f64, differentiated for an f32 x); the differences are then far above
    // anything an overflow-free gradient gives along a direction of moderate steps.
    if (std::fabs(p.central) > overflowing) {
      ++s.gradients_undetermined;
      return;
    }
    ++s.gradients;
    s.fail("a gradient is not finite where the loss is smooth and finite");
    return;
  }
  ++s.gradients;
  const double scale = std::max(magnitude, std::fabs(p.central));
  const double tolerance = (f64 ? 1e-6 : 2e-3) * scale + 2 * p.noise;
  if (std::fabs(along - p.central) <= tolerance) return;
  char text[256];
  std::snprintf(text,
                sizeof text,
                "the gradient along a random direction is %.9g, finite differences give %.9g "
                "(one-sided %.9g and %.9g; tolerance %.3g)",
                along,
                p.central,
                p.forward,
                p.backward,
                tolerance);
  s.fail(text);
}

}  // namespace fz
