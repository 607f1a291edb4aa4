#include "fake_quant.hpp"

#include <cmath>
#include <cstdlib>

namespace hwprune::train {

torch::Tensor quantize_values(const torch::Tensor& x_in, const FixedType& t) {
  torch::NoGradGuard no_grad;
  const int f_bits = t.frac_bits();
  const bool use_double = t.width > 24 || std::abs(f_bits) > 100;
  torch::Tensor s =
      use_double ? x_in.detach().to(torch::kFloat64) : x_in.detach().to(torch::kFloat32);
  s = s * std::ldexp(1.0, f_bits);  // a power of two: exact
  const torch::Tensor f = torch::floor(s);
  torch::Tensor d;  // the fractional part (exact for floats), needed by the rounding modes
  if (t.quant != QuantMode::TRN && t.quant != QuantMode::TRN_ZERO) d = s - f;
  torch::Tensor r;
  switch (t.quant) {
    case QuantMode::TRN:
      r = f;
      break;
    case QuantMode::TRN_ZERO:
      r = torch::trunc(s);
      break;
    case QuantMode::RND:
      r = f + (d >= 0.5).to(s.dtype());
      break;
    case QuantMode::RND_MIN_INF:
      r = f + (d > 0.5).to(s.dtype());
      break;
    case QuantMode::RND_ZERO:
      r = f + ((d > 0.5) | ((d == 0.5) & (s < 0))).to(s.dtype());
      break;
    case QuantMode::RND_INF:
      r = f + ((d > 0.5) | ((d == 0.5) & (s > 0))).to(s.dtype());
      break;
    case QuantMode::RND_CONV:
      r = f + ((d > 0.5) | ((d == 0.5) & (torch::fmod(f, 2.0) != 0))).to(s.dtype());
      break;
  }
  const double lo = static_cast<double>(t.raw_min()), hi = static_cast<double>(t.raw_max());
  switch (t.overflow) {
    case OverflowMode::SAT:
      r = torch::clamp(r, lo, hi);
      break;
    case OverflowMode::SAT_SYM:
      // Xilinx maps min to -max, except for a 1-bit signed type where -max == min.
      r = torch::clamp(r, t.is_signed && t.width > 1 ? -hi : lo, hi);
      break;
    case OverflowMode::SAT_ZERO:
      r = torch::where((r < lo) | (r > hi), torch::zeros_like(r), r);
      break;
    case OverflowMode::WRAP: {
      // fmod by a power of two is exact; the result lies in (-2^W, 2^W).
      const double span = std::ldexp(1.0, t.width);
      r = torch::fmod(r, span);
      r = torch::where(r < lo, r + span, r);
      r = torch::where(r > hi, r - span, r);
      break;
    }
  }
  r = r * std::ldexp(1.0, -f_bits);
  return r.to(x_in.scalar_type());
}

namespace {

// Quantizer with a hand-written backward: the STE (optionally clipped to the range) plus the
// range-penalty gradient 2 * c * (x - clamp(x, min, max)).
struct FakeQuantFn : public torch::autograd::Function<FakeQuantFn> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const FixedType& t, bool clipped, double range_penalty) {
    ctx->saved_data["min"] = t.min_value();
    ctx->saved_data["max"] = t.max_value();
    ctx->saved_data["clipped"] = clipped;
    ctx->saved_data["penalty"] = range_penalty;
    if (clipped || range_penalty > 0) ctx->save_for_backward({x});
    return quantize_values(x, t);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    torch::Tensor g = grads[0];
    const bool clipped = ctx->saved_data["clipped"].toBool();
    const double penalty = ctx->saved_data["penalty"].toDouble();
    if (clipped || penalty > 0) {
      const torch::Tensor x = ctx->get_saved_variables()[0];
      const double lo = ctx->saved_data["min"].toDouble(), hi = ctx->saved_data["max"].toDouble();
      if (clipped) g = g * ((x >= lo) & (x <= hi)).to(g.dtype());
      if (penalty > 0) g = g + (x - x.clamp(lo, hi)) * (2.0 * penalty);
    }
    return {g, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor fake_quant(const torch::Tensor& x, const Precision& p, GradientRule rule,
                         double range_penalty) {
  if (!p) return x;
  if (!x.requires_grad()) return quantize_values(x, *p);
  return FakeQuantFn::apply(x, *p, rule == GradientRule::ClippedSTE, range_penalty);
}

}  // namespace hwprune::train
