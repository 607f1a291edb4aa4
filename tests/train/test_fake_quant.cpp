// The torch fake quantizer: its values equal the bit-exact FixedType quantizer for every
// rounding/overflow mode, and its gradient follows the documented rule.
#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "fake_quant.hpp"

namespace hwprune::train {
namespace {

constexpr QuantMode kQ[] = {QuantMode::TRN,      QuantMode::TRN_ZERO,    QuantMode::RND,
                            QuantMode::RND_ZERO, QuantMode::RND_MIN_INF, QuantMode::RND_INF,
                            QuantMode::RND_CONV};
constexpr OverflowMode kO[] = {OverflowMode::WRAP, OverflowMode::SAT, OverflowMode::SAT_ZERO,
                               OverflowMode::SAT_SYM};

// Values around and beyond the type's range, plus every exact tie and grid point nearby.
std::vector<float> probe_values(const FixedType& t, uint64_t seed) {
  std::vector<float> v;
  std::mt19937_64 rng(seed);
  const double lo = t.min_value(), hi = t.max_value(), span = hi - lo;
  std::uniform_real_distribution<double> u(lo - 2 * span, hi + 2 * span);
  for (int i = 0; i < 4000; ++i) v.push_back(static_cast<float>(u(rng)));
  for (int k = -40; k <= 40; ++k) {
    for (double off : {0.0, 0.25, 0.5, 0.75}) {
      v.push_back(static_cast<float>((k + off) * t.step()));
      v.push_back(static_cast<float>(hi + (k + off) * t.step()));
      v.push_back(static_cast<float>(lo + (k + off) * t.step()));
    }
  }
  v.push_back(0.0f);
  v.push_back(-0.0f);
  v.push_back(1e30f);
  v.push_back(-1e30f);
  return v;
}

TEST(FakeQuant, ValuesEqualTheBitExactQuantizerInEveryMode) {
  const char* types[] = {"ap_fixed<16,6>",  "ap_ufixed<8,3>",  "ap_fixed<4,6>",
                         "ap_fixed<8,-2>",  "ap_fixed<1,1>",   "ap_fixed<24,12>",
                         "ap_fixed<30,10>", "ap_ufixed<40,20>"};
  int checked = 0;
  for (const char* name : types) {
    for (QuantMode q : kQ) {
      for (OverflowMode o : kO) {
        FixedType t = FixedType::parse(name);
        t.quant = q;
        t.overflow = o;
        const auto values = probe_values(t, 42);
        const torch::Tensor x = torch::tensor(values);
        const torch::Tensor y = quantize_values(x, t).contiguous();
        const float* py = y.data_ptr<float>();
        for (size_t i = 0; i < values.size(); ++i) {
          const float want = static_cast<float>(t.quantize(static_cast<double>(values[i])));
          ASSERT_EQ(py[i], want) << t.str() << " x=" << values[i];
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 8 * 28 * 4000);
}

// NaN stays NaN in every mode (so a diverging run shows in its loss), and an infinity
// saturates where the type saturates; a large tensor takes the same path as a small one.
TEST(FakeQuant, NanStaysNanAndInfinitySaturates) {
  for (QuantMode q : kQ) {
    for (OverflowMode o : kO) {
      FixedType t = FixedType::parse("ap_fixed<8,3>");
      t.quant = q;
      t.overflow = o;
      const float inf = std::numeric_limits<float>::infinity();
      const torch::Tensor y =
          quantize_values(torch::tensor({std::nanf(""), inf, -inf, 0.3f}), t).contiguous();
      const float* py = y.data_ptr<float>();
      EXPECT_TRUE(std::isnan(py[0])) << t.str();
      if (o == OverflowMode::SAT || o == OverflowMode::SAT_SYM) {
        EXPECT_EQ(py[1], static_cast<float>(t.max_value())) << t.str();
        EXPECT_EQ(py[2],
                  static_cast<float>(o == OverflowMode::SAT ? t.min_value() : -t.max_value()))
            << t.str();
      }
      if (o == OverflowMode::SAT_ZERO) {
        EXPECT_EQ(py[1], 0.0f);
        EXPECT_EQ(py[2], 0.0f);
      }
      EXPECT_EQ(py[3], static_cast<float>(t.quantize(0.3f))) << t.str();
    }
  }
  const FixedType t = FixedType::parse("ap_fixed<16,6,AP_RND_CONV,AP_WRAP>");
  const torch::Tensor x = torch::randn({300, 700}) * 40;
  const torch::Tensor y = quantize_values(x, t).contiguous();
  const float *px = x.data_ptr<float>(), *py = y.data_ptr<float>();
  for (int64_t i = 0; i < x.numel(); ++i)
    ASSERT_EQ(py[i], static_cast<float>(t.quantize(static_cast<double>(px[i])))) << px[i];
}

TEST(FakeQuant, FloatPrecisionPassesThrough) {
  const torch::Tensor x = torch::randn({5});
  EXPECT_TRUE(torch::equal(fake_quant(x, std::nullopt, GradientRule::STE), x));
}

// STE: the gradient is 1 everywhere, also where the value saturates.
TEST(FakeQuant, SteGradientIsIdentityEverywhere) {
  const Precision p = FixedType::parse("ap_fixed<4,2,AP_RND,AP_SAT>");  // [-2, 1.75]
  const torch::Tensor x =
      torch::tensor({-5.0f, -2.0f, -0.3f, 0.4f, 1.75f, 1.9f, 7.0f}).requires_grad_();
  const torch::Tensor y = fake_quant(x, p, GradientRule::STE);
  EXPECT_TRUE(
      torch::equal(y.detach(), torch::tensor({-2.0f, -2.0f, -0.25f, 0.5f, 1.75f, 1.75f, 1.75f})));
  (y * torch::arange(1, 8)).sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), torch::arange(1, 8).to(torch::kFloat32)));
}

// Clipped STE: identity inside [min, max], zero outside (where the value saturates or wraps).
TEST(FakeQuant, ClippedGradientIsZeroOutsideTheRange) {
  for (const char* name : {"ap_fixed<4,2,AP_RND,AP_SAT>", "ap_fixed<4,2>"}) {
    const Precision p = FixedType::parse(name);
    const torch::Tensor x =
        torch::tensor({-5.0f, -2.0f, -0.3f, 0.4f, 1.75f, 1.9f, 7.0f}).requires_grad_();
    fake_quant(x, p, GradientRule::ClippedSTE).sum().backward();
    EXPECT_TRUE(torch::equal(x.grad(), torch::tensor({0.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f})))
        << name << ": " << x.grad();
  }
}

// The range penalty c * sum((x - clamp(x))^2) adds 2c * excess to the gradient, with either
// rule, and nothing inside the range.
TEST(FakeQuant, RangePenaltyGradient) {
  const Precision p = FixedType::parse("ap_fixed<4,2,AP_RND,AP_SAT>");  // [-2, 1.75]
  for (GradientRule rule : {GradientRule::STE, GradientRule::ClippedSTE}) {
    const torch::Tensor x = torch::tensor({-5.0f, -2.0f, 0.4f, 1.75f, 2.75f}).requires_grad_();
    const torch::Tensor y = fake_quant(x, p, rule, 0.25);
    EXPECT_TRUE(torch::equal(y.detach(), torch::tensor({-2.0f, -2.0f, 0.5f, 1.75f, 1.75f})));
    y.sum().backward();
    const float out = rule == GradientRule::STE ? 1.0f : 0.0f;
    // excess: -3, 0, 0, 0, +1  ->  2 * 0.25 * excess = -1.5, 0, 0, 0, 0.5
    EXPECT_TRUE(torch::equal(x.grad(), torch::tensor({out - 1.5f, 1.0f, 1.0f, 1.0f, out + 0.5f})))
        << x.grad();
  }
}

// The fused backward equals the gradient written out in torch operations, on a large tensor
// (values inside and outside the range, both rules, with and without the penalty).
TEST(FakeQuant, BackwardEqualsTheComposedGradient) {
  const Precision p = FixedType::parse("ap_fixed<8,3>");  // [-4, 3.96875]
  const double lo = p->min_value(), hi = p->max_value();
  torch::manual_seed(3);
  const torch::Tensor x0 = torch::randn({257, 301}) * 6, g = torch::randn({257, 301});
  for (GradientRule rule : {GradientRule::STE, GradientRule::ClippedSTE}) {
    for (double penalty : {0.0, 0.125}) {
      const torch::Tensor x = x0.clone().requires_grad_();
      fake_quant(x, p, rule, penalty).backward(g);
      torch::Tensor want = g.clone();
      if (rule == GradientRule::ClippedSTE)
        want = want * ((x0 >= lo) & (x0 <= hi)).to(torch::kFloat32);
      if (penalty > 0) want = want + (x0 - x0.clamp(lo, hi)) * (2.0 * penalty);
      EXPECT_TRUE(torch::equal(x.grad(), want)) << static_cast<int>(rule) << " " << penalty;
    }
  }
}

}  // namespace
}  // namespace hwprune::train
