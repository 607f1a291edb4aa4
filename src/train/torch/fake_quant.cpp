#include "fake_quant.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>

namespace hwprune::train {

namespace {

// The element-wise quantizer: one pass over the values, no temporaries (a chain of torch
// operations allocated about eight tensors per call, and quantization-aware training calls
// it for every layer's result in every batch). Each step is the same IEEE operation in the
// same precision as the definition (scale by 2^F, floor, round on the fractional part,
// overflow, scale back), so the values are exact (tests/train/test_fake_quant.cpp checks
// them against FixedType::quantize). NaN stays NaN.
template <class T>
struct Grid {
  T scale, inv, lo, hi, span;
};

// Branch-free (selects and arithmetic on comparisons), so the loop vectorizes; floor, trunc
// and the parity/modulo below are exact for every float (x / 2^k and k * 2^k are exact, and
// a difference that is representable is computed exactly).
template <QuantMode Q, OverflowMode O, class T>
inline T quantize_one(T x, const Grid<T>& g) {
  const T s = x * g.scale;  // a power of two: exact
  const T f = std::floor(s);
  const T d = s - f;  // the fractional part, exact
  const T half(0.5);
  T r;
  if constexpr (Q == QuantMode::TRN) r = f;
  if constexpr (Q == QuantMode::TRN_ZERO) r = std::trunc(s);
  if constexpr (Q == QuantMode::RND) r = f + T(d >= half);
  if constexpr (Q == QuantMode::RND_MIN_INF) r = f + T(d > half);
  if constexpr (Q == QuantMode::RND_ZERO) r = f + T((d > half) | ((d == half) & (s < 0)));
  if constexpr (Q == QuantMode::RND_INF) r = f + T((d > half) | ((d == half) & (s > 0)));
  if constexpr (Q == QuantMode::RND_CONV) {
    const T odd = f - 2 * std::floor(f * half);  // 0 or 1
    r = f + T((d > half) | ((d == half) & (odd != 0)));
  }
  if constexpr (O == OverflowMode::SAT || O == OverflowMode::SAT_SYM)
    r = r < g.lo ? g.lo : (r > g.hi ? g.hi : r);  // g.lo is -max for SAT_SYM; NaN stays
  if constexpr (O == OverflowMode::SAT_ZERO) r = (r < g.lo) | (r > g.hi) ? T(0) : r;
  if constexpr (O == OverflowMode::WRAP) {
    r = r - g.span * std::floor(r / g.span);  // r mod 2^W, in [0, 2^W)
    r = r > g.hi ? r - g.span : r;
  }
  return r * g.inv;
}

template <QuantMode Q, OverflowMode O, class T>
__attribute__((target_clones("avx2", "default"))) void quantize_range(const T* __restrict x,
                                                                      T* __restrict y,
                                                                      int64_t begin, int64_t end,
                                                                      const Grid<T> g) {
  for (int64_t i = begin; i < end; ++i) y[i] = quantize_one<Q, O>(x[i], g);
}

template <QuantMode Q, class T>
void quantize_range(OverflowMode o, const T* x, T* y, int64_t b, int64_t e, const Grid<T>& g) {
  switch (o) {
    case OverflowMode::WRAP:
      return quantize_range<Q, OverflowMode::WRAP>(x, y, b, e, g);
    case OverflowMode::SAT:
      return quantize_range<Q, OverflowMode::SAT>(x, y, b, e, g);
    case OverflowMode::SAT_ZERO:
      return quantize_range<Q, OverflowMode::SAT_ZERO>(x, y, b, e, g);
    case OverflowMode::SAT_SYM:
      return quantize_range<Q, OverflowMode::SAT_SYM>(x, y, b, e, g);
  }
}

template <class T>
void quantize_range(const FixedType& t, const T* x, T* y, int64_t b, int64_t e, const Grid<T>& g) {
  const OverflowMode o = t.overflow;
  switch (t.quant) {
    case QuantMode::TRN:
      return quantize_range<QuantMode::TRN>(o, x, y, b, e, g);
    case QuantMode::TRN_ZERO:
      return quantize_range<QuantMode::TRN_ZERO>(o, x, y, b, e, g);
    case QuantMode::RND:
      return quantize_range<QuantMode::RND>(o, x, y, b, e, g);
    case QuantMode::RND_ZERO:
      return quantize_range<QuantMode::RND_ZERO>(o, x, y, b, e, g);
    case QuantMode::RND_MIN_INF:
      return quantize_range<QuantMode::RND_MIN_INF>(o, x, y, b, e, g);
    case QuantMode::RND_INF:
      return quantize_range<QuantMode::RND_INF>(o, x, y, b, e, g);
    case QuantMode::RND_CONV:
      return quantize_range<QuantMode::RND_CONV>(o, x, y, b, e, g);
  }
}

template <class T>
torch::Tensor quantize_as(const torch::Tensor& x_in, const FixedType& t, torch::Dtype dtype) {
  const torch::Tensor x = x_in.detach().to(dtype).contiguous();
  torch::Tensor y = torch::empty_like(x);
  const double hi = static_cast<double>(t.raw_max());
  // Xilinx maps min to -max under SAT_SYM, except for a 1-bit signed type where -max == min.
  const double lo = t.overflow == OverflowMode::SAT_SYM && t.is_signed && t.width > 1
                        ? -hi
                        : static_cast<double>(t.raw_min());
  const Grid<T> g{static_cast<T>(std::ldexp(1.0, t.frac_bits())),
                  static_cast<T>(std::ldexp(1.0, -t.frac_bits())), static_cast<T>(lo),
                  static_cast<T>(hi), static_cast<T>(std::ldexp(1.0, t.width))};
  const T* px = x.data_ptr<T>();
  T* py = y.data_ptr<T>();
  at::parallel_for(0, x.numel(), 1 << 15,
                   [&](int64_t b, int64_t e) { quantize_range(t, px, py, b, e, g); });
  return y;
}

}  // namespace

torch::Tensor quantize_values(const torch::Tensor& x_in, const FixedType& t) {
  torch::NoGradGuard no_grad;
  const int f_bits = t.frac_bits();
  const bool use_double = t.width > 24 || std::abs(f_bits) > 100;
  const torch::Tensor y = use_double ? quantize_as<double>(x_in, t, torch::kFloat64)
                                     : quantize_as<float>(x_in, t, torch::kFloat32);
  return y.to(x_in.scalar_type());
}

namespace {

// The backward's element loop: g * [lo <= x <= hi] (Clipped) + c2 * (x - clamp(x, lo, hi))
// (Penalty).
template <bool Clipped, bool Penalty, class T>
__attribute__((target_clones("avx2", "default"))) void gradient_range(
    const T* __restrict x, const T* __restrict g, T* __restrict out, int64_t begin, int64_t end,
    const T lo, const T hi, const T c2) {
  for (int64_t i = begin; i < end; ++i) {
    const T v = x[i];
    T r = g[i];
    if constexpr (Clipped) r = r * T((v >= lo) & (v <= hi));
    if constexpr (Penalty) r = r + (v - (v < lo ? lo : (v > hi ? hi : v))) * c2;
    out[i] = r;
  }
}

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
      // One pass: g * [lo <= x <= hi] (clipped) + 2c * (x - clamp(x, lo, hi)) (penalty).
      const torch::Tensor x = ctx->get_saved_variables()[0].contiguous();
      const torch::Tensor gin = g.to(x.scalar_type()).contiguous();
      const double lo = ctx->saved_data["min"].toDouble(), hi = ctx->saved_data["max"].toDouble();
      g = torch::empty_like(x);
      AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "fake_quant_backward", [&] {
        const scalar_t *px = x.data_ptr<scalar_t>(), *pg = gin.data_ptr<scalar_t>();
        scalar_t* out = g.data_ptr<scalar_t>();
        const auto l = static_cast<scalar_t>(lo), h = static_cast<scalar_t>(hi),
                   c2 = static_cast<scalar_t>(2.0 * penalty);
        at::parallel_for(0, x.numel(), 1 << 15, [&](int64_t b, int64_t e) {
          if (clipped && penalty > 0)
            return gradient_range<true, true>(px, pg, out, b, e, l, h, c2);
          if (clipped) return gradient_range<true, false>(px, pg, out, b, e, l, h, c2);
          gradient_range<false, true>(px, pg, out, b, e, l, h, c2);
        });
      });
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
