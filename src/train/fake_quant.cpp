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

torch::Tensor fake_quant(const torch::Tensor& x, const Precision& p, GradientRule rule) {
  if (!p) return x;
  const torch::Tensor q = quantize_values(x, *p);
  if (!x.requires_grad()) return q;
  const torch::Tensor pass = x - x.detach();  // zero value, identity gradient
  if (rule == GradientRule::STE) return q + pass;
  const torch::Tensor inside = ((x >= p->min_value()) & (x <= p->max_value())).to(x.dtype());
  return q + pass * inside;
}

}  // namespace hwprune::train
