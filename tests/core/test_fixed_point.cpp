// Tests for the Xilinx ap_fixed/ap_ufixed model: rounding, overflow, requantize, strings.
#include "hwprune/ir/fixed_point.hpp"
#include "support/test_support.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "hwprune/util/error.hpp"

namespace hwprune {
namespace {

FixedType T(std::string_view s) {
  return FixedType::parse(s);
}

constexpr QuantMode kAllQ[] = {QuantMode::TRN,      QuantMode::TRN_ZERO,    QuantMode::RND,
                               QuantMode::RND_ZERO, QuantMode::RND_MIN_INF, QuantMode::RND_INF,
                               QuantMode::RND_CONV};
constexpr OverflowMode kAllO[] = {OverflowMode::WRAP, OverflowMode::SAT, OverflowMode::SAT_ZERO,
                                  OverflowMode::SAT_SYM};

FixedType With(FixedType t, QuantMode q, OverflowMode o = OverflowMode::WRAP) {
  t.quant = q;
  t.overflow = o;
  return t;
}

// ---------------------------------------------------------------------------------------
// Independent test reference, doubles only: valid when x * 2^F is exact in a double (floor,
// the fraction, +1 below 2^53 and fmod by 2^W are then exact too).
int64_t RefQuantize(const FixedType& t, double x) {
  const double y = std::ldexp(x, t.frac_bits());
  const double fl = std::floor(y);
  const double fr = y - fl;  // exact, in [0, 1)
  double n = fl;
  if (fr != 0) {
    const bool neg = y < 0;
    const bool odd = std::fmod(fl, 2.0) != 0;
    bool up = false;
    switch (t.quant) {
      case QuantMode::TRN:
        up = false;
        break;
      case QuantMode::TRN_ZERO:
        up = neg;
        break;
      case QuantMode::RND:
        up = fr >= 0.5;
        break;
      case QuantMode::RND_ZERO:
        up = fr > 0.5 || (fr == 0.5 && neg);
        break;
      case QuantMode::RND_MIN_INF:
        up = fr > 0.5;
        break;
      case QuantMode::RND_INF:
        up = fr > 0.5 || (fr == 0.5 && !neg);
        break;
      case QuantMode::RND_CONV:
        up = fr > 0.5 || (fr == 0.5 && odd);
        break;
    }
    if (up) n += 1;
  }
  const double lo = static_cast<double>(t.raw_min());                       // exact
  const double lim = std::ldexp(1.0, t.is_signed ? t.width - 1 : t.width);  // raw_max + 1
  const bool over = n >= lim, under = n < lo;
  switch (t.overflow) {
    case OverflowMode::WRAP: {
      const double mod = std::ldexp(1.0, t.width);
      const double m = std::fmod(n, mod);  // exact, in (-2^W, 2^W): fits int64
      uint64_t bits = static_cast<uint64_t>(static_cast<int64_t>(m));
      bits &= (~uint64_t{0}) >> (64 - t.width);
      if (t.is_signed && (bits >> (t.width - 1)) != 0) bits -= uint64_t{1} << t.width;
      return static_cast<int64_t>(bits);
    }
    case OverflowMode::SAT:
      return over ? t.raw_max() : under ? t.raw_min() : static_cast<int64_t>(n);
    case OverflowMode::SAT_ZERO:
      return over || under ? 0 : static_cast<int64_t>(n);
    case OverflowMode::SAT_SYM:
      if (over) return t.raw_max();
      if (!t.is_signed) return under ? 0 : static_cast<int64_t>(n);
      if (n <= lo) return t.width == 1 ? t.raw_min() : -t.raw_max();
      return static_cast<int64_t>(n);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------
// Expected raws from a throwaway Python script using exact Fractions (not in the repo).
struct Case {
  const char* type;
  double x;
  int64_t raw;
};
const Case kPythonCases[] = {
    {"ap_ufixed<16,-10,AP_RND_CONV,AP_SAT_ZERO>", -0x1.0000000000000p-1, 0LL},
    {"ap_fixed<8,8,AP_RND,AP_WRAP>", 0x1.4000000000000p+1, 3LL},
    {"ap_fixed<32,30,AP_RND_MIN_INF,AP_SAT>", -0x1.4507a00000000p+22, -21301152LL},
    {"ap_fixed<63,42,AP_TRN_ZERO,AP_SAT>", -0x1.fa96edcb81197p+7, -531197660LL},
    {"ap_fixed<12,10,AP_RND,AP_WRAP>", -0x1.8000000000000p+1, -12LL},
    {"ap_fixed<63,43,AP_RND_INF,AP_SAT>", -0x1.48d550db5182ep-668, 0LL},
    {"ap_fixed<62,43,AP_RND_INF,AP_SAT>", -0x1.11cbc60519236p+276, -2305843009213693952LL},
    {"ap_fixed<1,-3,AP_RND_ZERO,AP_SAT>", 0x1.0631b6c70d08ep-314, 0LL},
    {"ap_fixed<8,8,AP_TRN_ZERO,AP_WRAP>", 0x1.4000000000000p+1, 2LL},
    {"ap_ufixed<1,-6,AP_RND,AP_SAT_ZERO>", -0x1.a6f9690025b92p+6, 0LL},
    {"ap_ufixed<1,-9,AP_TRN,AP_SAT_SYM>", 0x1.0000000000000p-1, 1LL},
    {"ap_fixed<1,1,AP_RND_MIN_INF,AP_WRAP>", -0x1.81ff400000000p-11, 0LL},
    {"ap_fixed<62,52,AP_RND_MIN_INF,AP_SAT_SYM>", 0x0.0000000000001p-1022, 0LL},
    {"ap_ufixed<5,1,AP_RND_INF,AP_WRAP>", -0x1.ae085940a7584p-39, 0LL},
    {"ap_fixed<12,4,AP_TRN_ZERO,AP_SAT_ZERO>", -0x1.eb48fc700ed92p+7, 0LL},
    {"ap_fixed<63,-10,AP_RND_INF,AP_SAT_SYM>", -0x0.0000000000001p-1022, 0LL},
    {"ap_fixed<2,-2,AP_RND_ZERO,AP_WRAP>", 0x1.d1b5383afda20p+631, 0LL},
    {"ap_ufixed<3,-3,AP_TRN_ZERO,AP_WRAP>", -0x1.2f44000000000p+13, 0LL},
    {"ap_fixed<3,-5,AP_RND_CONV,AP_SAT>", 0x0.0000000000001p-1022, 0LL},
    {"ap_fixed<63,43,AP_TRN,AP_SAT_SYM>", 0x1.0670459f0e568p-250, 0LL},
    {"ap_fixed<63,7,AP_TRN_ZERO,AP_SAT_ZERO>", -0x1.7fa165bb1a54cp+49, 0LL},
    {"ap_fixed<63,-3,AP_RND_ZERO,AP_WRAP>", -0x1.23b4400000000p-7, -656859241549660160LL},
    {"ap_ufixed<3,1,AP_RND_INF,AP_WRAP>", -0x1.0c600cac758b8p+5, 2LL},
    {"ap_fixed<12,15,AP_RND_MIN_INF,AP_SAT_ZERO>", 0x1.f0a7e00000000p+19, 0LL},
    {"ap_fixed<1,-2,AP_TRN_ZERO,AP_SAT_ZERO>", -0x1.2ac76a9c4a04ap+8, 0LL},
    {"ap_fixed<62,0,AP_RND_MIN_INF,AP_SAT>", -0x1.7e43c8800759cp+996, -2305843009213693952LL},
    {"ap_fixed<3,-2,AP_RND,AP_SAT_ZERO>", -0x1.0000000000000p+0, 0LL},
    {"ap_fixed<53,28,AP_RND_CONV,AP_WRAP>", -0x1.6e7c400000000p-7, -375281LL},
    {"ap_fixed<3,-1,AP_RND_ZERO,AP_SAT>", -0x1.cf99a0833e764p+7, -4LL},
    {"ap_ufixed<32,-8,AP_RND,AP_SAT_SYM>", -0x1.ac6ac00000000p+4, 0LL},
    {"ap_fixed<2,5,AP_TRN_ZERO,AP_SAT_ZERO>", -0x1.20fc7ad774044p-10, 0LL},
    {"ap_fixed<1,-8,AP_TRN_ZERO,AP_SAT_SYM>", 0x1.0000000000000p+0, 0LL},
    {"ap_fixed<32,-1,AP_RND,AP_SAT>", 0x1.8454600000000p-10, 12724784LL},
    {"ap_ufixed<12,-9,AP_RND,AP_WRAP>", 0x1.804b200000000p-9, 2053LL},
    {"ap_fixed<12,10,AP_RND,AP_SAT>", -0x1.8bd7200000000p-4, 0LL},
    {"ap_fixed<24,-3,AP_TRN_ZERO,AP_WRAP>", 0x1.4000000000000p+1, 0LL},
    {"ap_fixed<5,6,AP_RND_ZERO,AP_SAT_SYM>", -0x1.4fef98bc8bdadp+7, -15LL},
    {"ap_ufixed<5,0,AP_TRN_ZERO,AP_SAT_SYM>", -0x1.08821100184f2p+39, 0LL},
    {"ap_fixed<3,-4,AP_RND_MIN_INF,AP_SAT>", 0x1.16d17d925152ap+7, 3LL},
    {"ap_fixed<1,10,AP_RND_CONV,AP_WRAP>", -0x1.82c12cf3e89e2p-14, 0LL},
    {"ap_fixed<53,20,AP_RND,AP_SAT>", 0x1.92e8e00000000p+14, 221501932437504LL},
    {"ap_ufixed<32,5,AP_RND_CONV,AP_WRAP>", 0x1.a5f53e9e11000p+52, 0LL},
    {"ap_fixed<62,37,AP_RND_ZERO,AP_WRAP>", -0x1.1c9d800000000p+9, -19100205056LL},
    {"ap_fixed<5,4,AP_RND_MIN_INF,AP_WRAP>", 0x1.125c228e87644p+7, -14LL},
    {"ap_fixed<16,6,AP_RND_INF,AP_SAT>", 0x1.0eab05db7cbc0p-15, 0LL},
    {"ap_ufixed<1,5,AP_RND_INF,AP_SAT>", -0x1.9510e9f8ccdf0p+552, 0LL},
    {"ap_ufixed<12,3,AP_RND,AP_SAT>", 0x1.60a30fbe9ab00p+7, 4095LL},
    {"ap_fixed<8,7,AP_TRN_ZERO,AP_SAT>", -0x1.f20ec00000000p+7, -128LL},
    {"ap_fixed<32,8,AP_RND_ZERO,AP_SAT_SYM>", -0x0.0000000000001p-1022, 0LL},
    {"ap_fixed<16,18,AP_RND,AP_SAT_ZERO>", 0x1.443fb17a2ff98p+41, 0LL},
    {"ap_ufixed<62,10,AP_TRN,AP_WRAP>", 0x1.51f0798f43126p+16, 2235923914576756736LL},
    {"ap_ufixed<62,30,AP_RND_INF,AP_SAT_SYM>", 0x1.1e3ac00000000p-4, 300133376LL},
    {"ap_fixed<63,45,AP_RND_MIN_INF,AP_WRAP>", -0x1.60beb4afc065ep-1017, 0LL},
    {"ap_ufixed<12,0,AP_RND,AP_SAT>", 0x1.fbe3000000000p+7, 4095LL},
    {"ap_fixed<62,66,AP_TRN,AP_SAT_ZERO>", 0x1.e299d60dca5b0p+5, 3LL},
    {"ap_fixed<24,-9,AP_RND_ZERO,AP_SAT_SYM>", 0x1.40e268b8c3340p+7, 8388607LL},
    {"ap_ufixed<12,9,AP_TRN_ZERO,AP_SAT_SYM>", -0x1.e92c000000000p+18, 0LL},
    {"ap_fixed<12,4,AP_RND_ZERO,AP_SAT>", -0x1.4790568227478p-7, -3LL},
    {"ap_ufixed<53,19,AP_RND,AP_WRAP>", 0x1.44c786678a690p+4, 348729219555LL},
    {"ap_ufixed<63,5,AP_TRN_ZERO,AP_SAT_ZERO>", 0x1.7dca63fc858e4p+6, 0LL},
    {"ap_fixed<4,8,AP_RND,AP_SAT_ZERO>", 0x1.34b63b025f380p+9, 0LL},
    {"ap_ufixed<16,15,AP_RND_ZERO,AP_SAT_ZERO>", -0x1.844128890f502p+28, 0LL},
    {"ap_ufixed<40,-2,AP_TRN,AP_WRAP>", 0x1.3a9ba6ad30080p+31, 412585295872LL},
    {"ap_fixed<24,11,AP_RND_INF,AP_SAT>", -0x1.fd82620000000p+9, -8347801LL},
    {"ap_fixed<63,47,AP_TRN,AP_SAT_ZERO>", 0x1.b75c1aac281e8p+43, 989350275225547776LL},
    {"ap_fixed<2,2,AP_RND,AP_SAT_SYM>", 0x1.c000080000000p+1, 1LL},
    {"ap_ufixed<6,0,AP_RND_ZERO,AP_WRAP>", 0x1.d400000000000p-1, 58LL},
    {"ap_ufixed<18,6,AP_RND,AP_SAT_ZERO>", -0x1.3e53c00000000p+5, 0LL},
    {"ap_ufixed<2,2,AP_TRN,AP_WRAP>", 0x1.628371c3c6a88p+32, 3LL},
    {"ap_ufixed<32,11,AP_TRN_ZERO,AP_WRAP>", 0x1.235f117f5b238p+58, 3221225472LL},
    {"ap_ufixed<2,4,AP_RND_CONV,AP_SAT_SYM>", -0x1.3c3f64a39eb98p+1, 0LL},
    {"ap_fixed<24,29,AP_RND_MIN_INF,AP_WRAP>", -0x1.401f931712075p+28, 6287414LL},
    {"ap_fixed<63,41,AP_RND_MIN_INF,AP_SAT_SYM>", 0x1.ebd254a0d6c9cp+27, 1081527144394131LL},
    {"ap_fixed<63,44,AP_RND,AP_SAT_SYM>", 0x1.d31c51cf8044cp+30, 1027187123617930LL},
    {"ap_fixed<2,8,AP_RND,AP_SAT_SYM>", 0x1.2000000000000p+8, 1LL},
    {"ap_fixed<24,4,AP_RND_CONV,AP_WRAP>", 0x1.17ad9d0000000p+3, -7612722LL},
    {"ap_ufixed<24,6,AP_RND_INF,AP_WRAP>", -0x1.ab499de41ba00p+2, 15027046LL},
    {"ap_fixed<24,21,AP_RND_INF,AP_SAT_SYM>", -0x1.9fe81c0000000p+18, -3407108LL},
    {"ap_fixed<3,-1,AP_RND_INF,AP_SAT_ZERO>", 0x1.f9bfe51d0d4e4p-4, 2LL},
    {"ap_ufixed<1,7,AP_RND_ZERO,AP_SAT_SYM>", 0x1.0000200000000p+5, 1LL},
    {"ap_fixed<32,27,AP_RND_MIN_INF,AP_WRAP>", 0x1.314a94670d03ep+26, -1733998028LL},
    {"ap_fixed<3,9,AP_RND,AP_SAT_SYM>", 0x1.4000000000000p+7, 3LL},
    {"ap_fixed<63,52,AP_RND_MIN_INF,AP_SAT_SYM>", 0x1.82721ee70ccc4p+49, 1740397088980386816LL},
    {"ap_fixed<1,7,AP_RND_INF,AP_SAT_ZERO>", -0x1.2b526e6672408p+5, -1LL},
    {"ap_fixed<4,-2,AP_TRN_ZERO,AP_SAT>", 0x1.32263cf962c00p-11, 0LL},
    {"ap_fixed<2,1,AP_TRN,AP_SAT_ZERO>", 0x1.4000000000000p+0, 0LL},
    {"ap_fixed<16,18,AP_RND_ZERO,AP_SAT_SYM>", 0x1.3c3d0a2ffa640p+12, 1265LL},
    {"ap_fixed<3,2,AP_RND_INF,AP_SAT_SYM>", 0x1.3ffff80000000p+0, 2LL},
    {"ap_fixed<53,35,AP_RND,AP_SAT_ZERO>", 0x1.92f8363fda44cp+31, 886139472819338LL},
    {"ap_fixed<53,30,AP_RND_CONV,AP_SAT_SYM>", 0x1.ac7025c72cdf0p+93, 4503599627370495LL},
    {"ap_fixed<16,-2,AP_RND_INF,AP_SAT_SYM>", 0x1.095aa35ba864cp+43, 32767LL},
    {"ap_ufixed<4,10,AP_TRN,AP_SAT>", -0x1.ccad867a59000p+3, 0LL},
    {"ap_fixed<4,1,AP_RND_CONV,AP_SAT_ZERO>", 0x1.d07e7bd6a7cf0p-2, 4LL},
    {"ap_fixed<53,59,AP_RND_INF,AP_WRAP>", 0x1.fc27434858444p+56, 2234882157797649LL},
    {"ap_ufixed<2,0,AP_TRN,AP_WRAP>", -0x1.c9a4da06632a8p-3, 3LL},
    {"ap_fixed<32,34,AP_RND,AP_SAT_SYM>", -0x1.89b9849483082p+56, -2147483647LL},
    {"ap_fixed<6,9,AP_RND,AP_WRAP>", 0x1.83ffff8000000p+8, -16LL},
    {"ap_fixed<3,-2,AP_TRN,AP_SAT_SYM>", 0x1.6eaa80442b988p+8, 3LL},
    {"ap_ufixed<24,5,AP_RND_ZERO,AP_SAT_SYM>", -0x1.ce02020a15664p+3, 0LL},
    {"ap_ufixed<53,-4,AP_RND_CONV,AP_SAT_ZERO>", -0x1.04a30da6cccbcp-8, 0LL},
    {"ap_ufixed<18,-1,AP_RND,AP_WRAP>", 0x1.2978455d7f58ap-1, 42465LL},
    {"ap_ufixed<3,-4,AP_TRN_ZERO,AP_SAT>", 0x1.2e4c18458a87ap-5, 4LL},
    {"ap_ufixed<53,32,AP_TRN_ZERO,AP_WRAP>", -0x1.8ed51c5f3a3ecp+28, 8130157390957443LL},
    {"ap_fixed<10,12,AP_RND_MIN_INF,AP_SAT>", -0x1.77c343a66ea56p+19, -512LL},
    {"ap_fixed<53,18,AP_RND_ZERO,AP_SAT_ZERO>", 0x1.d0e36e09f6d70p+12, 255575099505515LL},
    {"ap_ufixed<24,18,AP_TRN_ZERO,AP_SAT_SYM>", 0x1.a3f2880000000p+14, 1720104LL},
    {"ap_ufixed<53,25,AP_RND,AP_SAT_SYM>", 0x1.b980433978aa4p+23, 3883484092024146LL},
    {"ap_fixed<1,-4,AP_TRN_ZERO,AP_SAT_SYM>", -0x1.8000100000000p-5, -1LL},
    {"ap_ufixed<4,5,AP_RND_ZERO,AP_SAT_ZERO>", -0x1.e000000000000p+3, 0LL},
    {"ap_ufixed<2,-1,AP_RND_MIN_INF,AP_SAT_ZERO>", 0x1.21fc7469c4e84p-2, 2LL},
};

TEST(FixedPointPython, MatchesExactFractionReference) {
  for (const Case& c : kPythonCases) {
    const FixedType t = T(c.type);
    EXPECT_EQ(t.quantize_raw(c.x), c.raw) << c.type << " x=" << c.x;
    const double y = std::ldexp(c.x, t.frac_bits());
    if (std::ldexp(y, -t.frac_bits()) == c.x) {  // the reference needs x * 2^F exact
      EXPECT_EQ(RefQuantize(t, c.x), c.raw) << "test reference disagrees: " << c.type;
    }
  }
}

// ---------------------------------------------------------------------------------------
TEST(FixedPointRange, BoundsAndStep) {
  const FixedType a = T("ap_fixed<16,6>");
  EXPECT_EQ(a.frac_bits(), 10);
  EXPECT_EQ(a.raw_min(), -32768);
  EXPECT_EQ(a.raw_max(), 32767);
  EXPECT_EQ(a.step(), 1.0 / 1024);
  EXPECT_EQ(a.min_value(), -32.0);
  EXPECT_EQ(a.max_value(), 32.0 - 1.0 / 1024);

  const FixedType u = T("ap_ufixed<8,3>");
  EXPECT_EQ(u.raw_min(), 0);
  EXPECT_EQ(u.raw_max(), 255);
  EXPECT_EQ(u.min_value(), 0.0);
  EXPECT_EQ(u.max_value(), 7.96875);

  // I > W: step 4.
  const FixedType big = T("ap_fixed<4,6>");
  EXPECT_EQ(big.frac_bits(), -2);
  EXPECT_EQ(big.step(), 4.0);
  EXPECT_EQ(big.min_value(), -32.0);
  EXPECT_EQ(big.max_value(), 28.0);

  // I <= 0: all bits fractional.
  const FixedType z = T("ap_fixed<8,0>");
  EXPECT_EQ(z.step(), 1.0 / 256);
  EXPECT_EQ(z.min_value(), -0.5);
  EXPECT_EQ(z.max_value(), 127.0 / 256);
  const FixedType n = T("ap_fixed<8,-2>");
  EXPECT_EQ(n.frac_bits(), 10);
  EXPECT_EQ(n.min_value(), -0.125);
  EXPECT_EQ(n.max_value(), 127.0 / 1024);
  EXPECT_EQ(T("ap_ufixed<8,0>").max_value(), 255.0 / 256);

  // W = 1 and W = 63.
  EXPECT_EQ(T("ap_fixed<1,1>").raw_min(), -1);
  EXPECT_EQ(T("ap_fixed<1,1>").raw_max(), 0);
  EXPECT_EQ(T("ap_fixed<1,0>").min_value(), -0.5);
  EXPECT_EQ(T("ap_ufixed<1,1>").raw_max(), 1);
  EXPECT_EQ(T("ap_fixed<63,63>").raw_min(), -(int64_t{1} << 62));
  EXPECT_EQ(T("ap_fixed<63,63>").raw_max(), (int64_t{1} << 62) - 1);
  EXPECT_EQ(T("ap_ufixed<63,63>").raw_max(), INT64_MAX);
  EXPECT_EQ(T("ap_fixed<63,1>").to_real(1), std::ldexp(1.0, -62));
  EXPECT_EQ(T("ap_fixed<63,1>").min_value(), -1.0);
  EXPECT_EQ(T("ap_int<8>").raw_min(), -128);
  EXPECT_EQ(T("ap_uint<8>").max_value(), 255.0);
  // Extreme integer-bit counts stay finite and exact.
  EXPECT_EQ(T("ap_fixed<8,-900>").step(), std::ldexp(1.0, -908));
  EXPECT_EQ(T("ap_ufixed<63,900>").max_value(), std::ldexp(1.0, 900));  // (2^63-1) rounds up
  EXPECT_EQ(T("ap_fixed<8,900>").min_value(), -std::ldexp(1.0, 899));
}

TEST(FixedPointRange, ToRealAndQuantize) {
  const FixedType t = T("ap_fixed<8,4>");
  EXPECT_EQ(t.to_real(-128), -8.0);
  EXPECT_EQ(t.to_real(5), 0.3125);
  EXPECT_EQ(t.quantize(0.3), 0.25);
  EXPECT_EQ(T("ap_fixed<8,4,AP_RND>").quantize(0.3), 0.3125);
  EXPECT_EQ(T("ap_fixed<4,6>").to_real(-3), -12.0);
}

TEST(FixedPointRange, MakeValidates) {
  EXPECT_EQ(FixedType::make(16, 6), T("ap_fixed<16,6>"));
  EXPECT_EQ(FixedType::make(8, 0, false, QuantMode::RND_CONV, OverflowMode::SAT),
            T("ap_ufixed<8,0,AP_RND_CONV,AP_SAT>"));
  EXPECT_NO_THROW(FixedType::make(1, -900));
  EXPECT_NO_THROW(FixedType::make(63, 900));
  EXPECT_EQ(test::error_of([] { FixedType::make(0, 0); }),
            "invalid fixed-point type ap_fixed<0,0>: width 0 out of range 1..63");
  EXPECT_EQ(test::error_of([] { FixedType::make(64, 6, false); }),
            "invalid fixed-point type ap_ufixed<64,6>: width 64 out of range 1..63");
  EXPECT_EQ(test::error_of([] { FixedType::make(8, 901); }),
            "invalid fixed-point type ap_fixed<8,901>: integer bits 901 out of range -900..900");
  EXPECT_THROW(FixedType::make(8, -901), Error);
  EXPECT_THROW(FixedType::make(-1, 0), Error);
}

// ---------------------------------------------------------------------------------------
// Rounding: each mode on +-ties, below/above ties, at F = 0 and F = 2 (hand-computed and
// checked against the Fraction reference).
TEST(FixedPointRounding, AllModesAtF0) {
  const std::vector<double> xs = {2.5, -2.5, 1.5, -1.5, 2.4, 2.6, -2.4, -2.6, 0.5, -0.5, 3.0, -3.0};
  const std::vector<std::pair<QuantMode, std::vector<int64_t>>> table = {
      {QuantMode::TRN, {2, -3, 1, -2, 2, 2, -3, -3, 0, -1, 3, -3}},
      {QuantMode::TRN_ZERO, {2, -2, 1, -1, 2, 2, -2, -2, 0, 0, 3, -3}},
      {QuantMode::RND, {3, -2, 2, -1, 2, 3, -2, -3, 1, 0, 3, -3}},
      {QuantMode::RND_ZERO, {2, -2, 1, -1, 2, 3, -2, -3, 0, 0, 3, -3}},
      {QuantMode::RND_MIN_INF, {2, -3, 1, -2, 2, 3, -2, -3, 0, -1, 3, -3}},
      {QuantMode::RND_INF, {3, -3, 2, -2, 2, 3, -2, -3, 1, -1, 3, -3}},
      {QuantMode::RND_CONV, {2, -2, 2, -2, 2, 3, -2, -3, 0, 0, 3, -3}},
  };
  for (const auto& [q, want] : table) {
    const FixedType t = With(T("ap_fixed<8,8>"), q, OverflowMode::SAT);
    for (size_t i = 0; i < xs.size(); ++i)
      EXPECT_EQ(t.quantize_raw(xs[i]), want[i]) << t.str() << " x=" << xs[i];
  }
}

TEST(FixedPointRounding, AllModesAtF2) {
  const double e = std::ldexp(1.0, -30);
  // Scaled by 4: +-1.5, +-2.5 ties; then just below and just above the 1.5 tie.
  const std::vector<double> xs = {0.375,     -0.375,     0.625,     -0.625,
                                  0.375 - e, -0.375 + e, 0.375 + e, -0.375 - e};
  const std::vector<std::pair<QuantMode, std::vector<int64_t>>> table = {
      {QuantMode::TRN, {1, -2, 2, -3, 1, -2, 1, -2}},
      {QuantMode::TRN_ZERO, {1, -1, 2, -2, 1, -1, 1, -1}},
      {QuantMode::RND, {2, -1, 3, -2, 1, -1, 2, -2}},
      {QuantMode::RND_ZERO, {1, -1, 2, -2, 1, -1, 2, -2}},
      {QuantMode::RND_MIN_INF, {1, -2, 2, -3, 1, -1, 2, -2}},
      {QuantMode::RND_INF, {2, -2, 3, -3, 1, -1, 2, -2}},
      {QuantMode::RND_CONV, {2, -2, 2, -2, 1, -1, 2, -2}},
  };
  for (const auto& [q, want] : table) {
    const FixedType t = With(T("ap_fixed<8,6>"), q);
    for (size_t i = 0; i < xs.size(); ++i)
      EXPECT_EQ(t.quantize_raw(xs[i]), want[i]) << t.str() << " x=" << xs[i];
  }
}

TEST(FixedPointRounding, ExactValuesAndZeroUnchanged) {
  for (QuantMode q : kAllQ) {
    const FixedType t = With(T("ap_fixed<16,6>"), q);
    EXPECT_EQ(t.quantize_raw(0.0), 0);
    EXPECT_EQ(t.quantize_raw(-0.0), 0);
    EXPECT_EQ(t.quantize_raw(1.5), 1536);
    EXPECT_EQ(t.quantize_raw(-31.0), -31744);
    EXPECT_EQ(t.quantize_raw(-32.0), -32768);
  }
}

TEST(FixedPointRounding, TinyAndSubnormalInputs) {
  const double tiny = std::numeric_limits<double>::denorm_min();  // 2^-1074
  const FixedType t = T("ap_fixed<8,8>");
  EXPECT_EQ(With(t, QuantMode::TRN).quantize_raw(tiny), 0);
  EXPECT_EQ(With(t, QuantMode::TRN).quantize_raw(-tiny), -1);
  EXPECT_EQ(With(t, QuantMode::TRN_ZERO).quantize_raw(-tiny), 0);
  EXPECT_EQ(With(t, QuantMode::RND).quantize_raw(-tiny), 0);
  EXPECT_EQ(With(t, QuantMode::RND_INF).quantize_raw(-tiny), 0);
  EXPECT_EQ(With(t, QuantMode::RND_MIN_INF).quantize_raw(-tiny), 0);
  // The finest grid allowed (F = 963): subnormals still only round, and a normal exact tie
  // at 2^-964 is detected.
  const FixedType fine = T("ap_fixed<63,-900>");
  EXPECT_EQ(fine.frac_bits(), 963);
  EXPECT_EQ(With(fine, QuantMode::TRN).quantize_raw(-tiny), -1);
  EXPECT_EQ(With(fine, QuantMode::RND_INF).quantize_raw(tiny), 0);
  const double tie = std::ldexp(1.0, -964);  // scaled: exactly 0.5
  EXPECT_EQ(With(fine, QuantMode::RND).quantize_raw(tie), 1);
  EXPECT_EQ(With(fine, QuantMode::RND).quantize_raw(-tie), 0);
  EXPECT_EQ(With(fine, QuantMode::RND_CONV).quantize_raw(tie), 0);
  EXPECT_EQ(With(fine, QuantMode::RND_INF).quantize_raw(-tie), -1);
  EXPECT_EQ(With(fine, QuantMode::RND_ZERO).quantize_raw(-tie), 0);
  EXPECT_EQ(With(fine, QuantMode::RND_MIN_INF).quantize_raw(tie), 0);
  EXPECT_EQ(With(fine, QuantMode::RND_MIN_INF).quantize_raw(-tie), -1);
  EXPECT_EQ(With(fine, QuantMode::RND).quantize_raw(std::ldexp(3.0, -963)), 3);
  EXPECT_EQ(With(fine, QuantMode::RND).quantize_raw(std::ldexp(1.5, -1000)), 0);
  // 53 significant bits far below the binary point: 1 + 2^-52 at F = 0.
  EXPECT_EQ(With(t, QuantMode::RND).quantize_raw(0.5 + std::ldexp(1.0, -53)), 1);
  EXPECT_EQ(With(t, QuantMode::RND_ZERO).quantize_raw(-0.5 - std::ldexp(1.0, -53)), -1);
  EXPECT_EQ(With(t, QuantMode::RND_CONV).quantize_raw(2.5 - std::ldexp(1.0, -51)), 2);
}

// ---------------------------------------------------------------------------------------
// Overflow on ap_fixed<8,4>: raw -128..127, step 1/16, values -8 .. 7.9375.
TEST(FixedPointOverflow, BothEndsAllModes) {
  struct Row {
    QuantMode q;
    double x;
    int64_t wrap, sat, sat_zero, sat_sym;
  };
  const Row rows[] = {
      {QuantMode::TRN, 7.9375, 127, 127, 127, 127},          // max
      {QuantMode::TRN, 8.0, -128, 127, 0, 127},              // max + step
      {QuantMode::TRN, -8.0, -128, -128, -128, -127},        // min (SAT_SYM: -max)
      {QuantMode::TRN, -7.9375, -127, -127, -127, -127},     // -max
      {QuantMode::TRN, -8.0625, 127, -128, 0, -127},         // min - step
      {QuantMode::TRN, -7.99, -128, -128, -128, -127},       // rounds (floor) to min
      {QuantMode::TRN, 7.96875, 127, 127, 127, 127},         // max + step/2, truncated
      {QuantMode::RND, 7.96875, -128, 127, 0, 127},          // rounding carry overflows
      {QuantMode::RND_CONV, 7.96875, -128, 127, 0, 127},     // 127.5 -> 128 (even)
      {QuantMode::RND_ZERO, 7.96875, 127, 127, 127, 127},    // tie towards zero: fits
      {QuantMode::RND, -8.03125, -128, -128, -128, -127},    // -128.5 -> -128
      {QuantMode::RND_INF, -8.03125, 127, -128, 0, -127},    // -128.5 -> -129
      {QuantMode::TRN_ZERO, -8.03, -128, -128, -128, -127},  // -128.48 -> -128
      {QuantMode::TRN, 1000.3, -124, 127, 0, 127},           // 16004 mod 256 = 132
      {QuantMode::TRN, -1000.3, 123, -128, 0, -127},
      {QuantMode::TRN, 1e300, 0, 127, 0, 127},  // multiple of 2^8 once scaled
      {QuantMode::RND, -1e300, 0, -128, 0, -127},
      {QuantMode::TRN, 24.0, -128, 127, 0, 127},  // 384 mod 256 = 128 -> -128
      {QuantMode::TRN, 16.0, 0, 127, 0, 127},
  };
  for (const Row& r : rows) {
    const int64_t want[] = {r.wrap, r.sat, r.sat_zero, r.sat_sym};
    for (int i = 0; i < 4; ++i) {
      const FixedType t = With(T("ap_fixed<8,4>"), r.q, kAllO[i]);
      EXPECT_EQ(t.quantize_raw(r.x), want[i]) << t.str() << " x=" << r.x;
    }
  }
}

TEST(FixedPointOverflow, LargeWrapIsExactModular) {
  // 123456.789 * 2^10 rounds to 126419752 = 1929 * 2^16 + 808.
  EXPECT_EQ(T("ap_fixed<16,6,AP_RND>").quantize_raw(123456.789), 808);
  EXPECT_EQ(T("ap_fixed<16,6,AP_RND>").quantize_raw(-123456.789), -808);
  // 2^62 + 2^61 + 2^10 wraps to 2^61 + 2^10 - 2^62 in 63 signed bits.
  const double x = std::ldexp(1.0, 62) + std::ldexp(1.0, 61) + std::ldexp(1.0, 10);
  EXPECT_EQ(T("ap_fixed<63,63>").quantize_raw(x), (int64_t{1} << 61) + 1024 - (int64_t{1} << 62));
  EXPECT_EQ(T("ap_fixed<4,4>").quantize_raw(std::ldexp(1.0, 1000)), 0);
  EXPECT_EQ(T("ap_fixed<4,4>").quantize_raw(std::ldexp(3.0, 2) + 0.5), -4);  // 12 -> -4
  EXPECT_EQ(T("ap_fixed<4,4>").quantize_raw(-std::numeric_limits<double>::max()), 0);
  EXPECT_EQ(T("ap_fixed<4,4,AP_TRN,AP_SAT>").quantize_raw(std::numeric_limits<double>::max()), 7);
}

TEST(FixedPointOverflow, SatSymSigned) {
  const FixedType t = T("ap_fixed<6,6,AP_TRN,AP_SAT_SYM>");  // raw -32..31
  EXPECT_EQ(t.quantize_raw(-32.0), -31);
  EXPECT_EQ(t.quantize_raw(-31.5), -31);  // floor gives -32 == min, which maps to -max
  EXPECT_EQ(t.quantize_raw(-31.0), -31);
  EXPECT_EQ(t.quantize_raw(-100.0), -31);
  EXPECT_EQ(t.quantize_raw(31.0), 31);
  EXPECT_EQ(t.quantize_raw(40.0), 31);
  EXPECT_EQ(t.quantize_raw(0.0), 0);
  EXPECT_EQ(t.quantize_raw(-0.5), -1);
  EXPECT_EQ(With(t, QuantMode::RND, OverflowMode::SAT_SYM).quantize_raw(-31.5), -31);
  // W == 1: -max would be 0, Xilinx keeps min (underflow pattern min | 1 == min).
  const FixedType one = T("ap_fixed<1,1,AP_TRN,AP_SAT_SYM>");
  EXPECT_EQ(one.quantize_raw(-1.0), -1);
  EXPECT_EQ(one.quantize_raw(-5.0), -1);
  EXPECT_EQ(one.quantize_raw(5.0), 0);
  EXPECT_EQ(one.quantize_raw(-0.25), -1);
  EXPECT_EQ(With(one, QuantMode::RND, OverflowMode::SAT_SYM).quantize_raw(-0.25), 0);
  // W == 63.
  const FixedType w63 = T("ap_fixed<63,63,AP_TRN,AP_SAT_SYM>");
  EXPECT_EQ(w63.quantize_raw(-std::ldexp(1.0, 62)), -((int64_t{1} << 62) - 1));
  EXPECT_EQ(w63.quantize_raw(std::ldexp(1.0, 62)), (int64_t{1} << 62) - 1);
}

TEST(FixedPointOverflow, UnsignedTypes) {
  // ap_ufixed<8,4>: raw 0..255, step 1/16.
  struct Row {
    QuantMode q;
    double x;
    int64_t wrap, sat, sat_zero, sat_sym;
  };
  const Row rows[] = {
      {QuantMode::TRN, -1.0, 240, 0, 0, 0},
      {QuantMode::TRN, -0.01, 255, 0, 0, 0},  // floor(-0.16) = -1
      {QuantMode::RND, -0.01, 0, 0, 0, 0},    // rounds to 0: no overflow
      {QuantMode::TRN_ZERO, -0.01, 0, 0, 0, 0},
      {QuantMode::TRN, 15.9375, 255, 255, 255, 255},
      {QuantMode::TRN, 16.0, 0, 255, 0, 255},
      {QuantMode::RND, 15.96875, 0, 255, 0, 255},  // carry overflows
      {QuantMode::TRN, -16.0, 0, 0, 0, 0},
      {QuantMode::TRN, -16.0625, 255, 0, 0, 0},
      {QuantMode::TRN, 1e30, 0, 255, 0, 255},
      {QuantMode::TRN, -1e30, 0, 0, 0, 0},
  };
  for (const Row& r : rows) {
    const int64_t want[] = {r.wrap, r.sat, r.sat_zero, r.sat_sym};
    for (int i = 0; i < 4; ++i) {
      const FixedType t = With(T("ap_ufixed<8,4>"), r.q, kAllO[i]);
      EXPECT_EQ(t.quantize_raw(r.x), want[i]) << t.str() << " x=" << r.x;
    }
  }
}

TEST(FixedPointOverflow, IntegerBitsAboveWidth) {
  const FixedType t = T("ap_fixed<4,6>");  // step 4, raw -8..7
  EXPECT_EQ(t.quantize_raw(5.0), 1);
  EXPECT_EQ(t.quantize_raw(-5.0), -2);
  EXPECT_EQ(With(t, QuantMode::RND).quantize_raw(6.0), 2);        // 1.5 -> 2
  EXPECT_EQ(With(t, QuantMode::RND_CONV).quantize_raw(10.0), 2);  // 2.5 -> 2
  EXPECT_EQ(With(t, QuantMode::RND_CONV).quantize_raw(14.0), 4);  // 3.5 -> 4
  EXPECT_EQ(With(t, QuantMode::RND_ZERO).quantize_raw(-6.0), -1);
  EXPECT_EQ(t.quantize_raw(28.0), 7);
  EXPECT_EQ(t.quantize_raw(32.0), -8);  // wraps to -32
  EXPECT_EQ(With(t, QuantMode::TRN, OverflowMode::SAT).quantize_raw(32.0), 7);
  EXPECT_EQ(With(t, QuantMode::RND, OverflowMode::SAT).quantize_raw(30.0), 7);  // 7.5 -> 8
  EXPECT_EQ(With(t, QuantMode::TRN, OverflowMode::SAT_SYM).quantize_raw(-32.0), -7);
  EXPECT_EQ(t.quantize(30.0), 28.0);
}

TEST(FixedPointOverflow, IntegerBitsAtOrBelowZero) {
  const FixedType z = T("ap_fixed<8,0>");  // step 2^-8, -0.5 .. 127/256
  EXPECT_EQ(z.quantize_raw(0.3), 76);      // floor(76.8)
  EXPECT_EQ(With(z, QuantMode::RND).quantize_raw(0.3), 77);
  EXPECT_EQ(z.quantize_raw(-0.5), -128);
  EXPECT_EQ(z.quantize_raw(0.5), -128);  // 128 wraps
  EXPECT_EQ(With(z, QuantMode::TRN, OverflowMode::SAT).quantize_raw(0.5), 127);
  const FixedType n = T("ap_fixed<8,-2>");  // step 2^-10, -0.125 .. 127/1024
  EXPECT_EQ(n.quantize_raw(0.1), 102);      // floor(102.4)
  EXPECT_EQ(n.quantize_raw(0.125), -128);
  EXPECT_EQ(With(n, QuantMode::TRN, OverflowMode::SAT).quantize_raw(0.125), 127);
  EXPECT_EQ(With(n, QuantMode::TRN, OverflowMode::SAT).quantize_raw(-0.2), -128);
  EXPECT_EQ(n.quantize_raw(-0.2), 51);  // floor(-204.8) = -205 = 51 - 256 wraps to 51
}

TEST(FixedPointOverflow, IntTypes) {
  const FixedType i8 = T("ap_int<8>");
  EXPECT_EQ(i8.quantize_raw(127.7), 127);
  EXPECT_EQ(i8.quantize_raw(-3.2), -4);
  EXPECT_EQ(i8.quantize_raw(200.0), -56);
  EXPECT_EQ(With(i8, QuantMode::RND).quantize_raw(127.7), -128);
  const FixedType u8 = T("ap_uint<8>");
  EXPECT_EQ(u8.quantize_raw(-1.0), 255);
  EXPECT_EQ(u8.quantize_raw(256.0), 0);
  EXPECT_EQ(u8.quantize_raw(255.9), 255);
  EXPECT_EQ(With(u8, QuantMode::RND).quantize_raw(255.5), 0);
  EXPECT_EQ(With(u8, QuantMode::RND, OverflowMode::SAT).quantize_raw(255.5), 255);
}

TEST(FixedPointOverflow, WidthOneAndSixtyThree) {
  const FixedType s1 = T("ap_fixed<1,1>");  // raw -1..0
  EXPECT_EQ(s1.quantize_raw(0.7), 0);
  EXPECT_EQ(s1.quantize_raw(1.0), -1);  // wraps
  EXPECT_EQ(s1.quantize_raw(-0.3), -1);
  EXPECT_EQ(With(s1, QuantMode::TRN, OverflowMode::SAT).quantize_raw(5.0), 0);
  EXPECT_EQ(With(s1, QuantMode::TRN, OverflowMode::SAT).quantize_raw(-5.0), -1);
  EXPECT_EQ(With(s1, QuantMode::RND, OverflowMode::SAT_ZERO).quantize_raw(0.5), 0);
  const FixedType u1 = T("ap_ufixed<1,1>");  // raw 0..1
  EXPECT_EQ(u1.quantize_raw(1.0), 1);
  EXPECT_EQ(u1.quantize_raw(2.0), 0);
  EXPECT_EQ(u1.quantize_raw(3.0), 1);
  EXPECT_EQ(With(u1, QuantMode::TRN, OverflowMode::SAT).quantize_raw(2.0), 1);
  EXPECT_EQ(With(u1, QuantMode::TRN, OverflowMode::SAT).quantize_raw(-2.0), 0);

  const FixedType s63 = T("ap_fixed<63,63>");
  const int64_t top = int64_t{1} << 62;
  EXPECT_EQ(s63.quantize_raw(std::ldexp(1.0, 62)), -top);
  EXPECT_EQ(s63.quantize_raw(-std::ldexp(1.0, 62)), -top);
  EXPECT_EQ(s63.quantize_raw(std::ldexp(3.0, 61)), -(top >> 1));
  EXPECT_EQ(With(s63, QuantMode::TRN, OverflowMode::SAT).quantize_raw(std::ldexp(1.0, 62)),
            top - 1);
  EXPECT_EQ(With(s63, QuantMode::TRN, OverflowMode::SAT).quantize_raw(-1e19), -top);
  const FixedType u63 = T("ap_ufixed<63,63>");
  EXPECT_EQ(u63.quantize_raw(std::ldexp(1.0, 63)), 0);
  EXPECT_EQ(u63.quantize_raw(-1.0), INT64_MAX);
  EXPECT_EQ(u63.quantize_raw(std::ldexp(3.0, 61)), 3 * (int64_t{1} << 61));
  EXPECT_EQ(With(u63, QuantMode::TRN, OverflowMode::SAT).quantize_raw(1e19), INT64_MAX);
  const FixedType f62 = T("ap_fixed<63,1,AP_RND,AP_SAT>");  // F = 62
  EXPECT_EQ(f62.quantize_raw(0.5), int64_t{1} << 61);
  EXPECT_EQ(f62.quantize_raw(-1.0), -top);
  EXPECT_EQ(f62.quantize_raw(1.0), top - 1);
  // 0.1 is 0x1.999999999999ap-4: times 2^62 is the integer 0x1999999999999a * 2^6.
  EXPECT_EQ(f62.quantize_raw(0.1), 461168601842738816);
}

TEST(FixedPointErrors, NanAndInfThrow) {
  const FixedType t = T("ap_fixed<16,6>");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (double x : {nan, inf, -inf}) {
    const std::string msg = test::error_of([&] { t.quantize_raw(x); });
    EXPECT_FALSE(msg.empty()) << x;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
    EXPECT_NE(msg.find("ap_fixed<16,6>"), std::string::npos) << msg;
    EXPECT_THROW(t.quantize(x), Error);
  }
  EXPECT_NE(test::error_of([&] { t.quantize_raw(nan); }).find("NaN"), std::string::npos);
  EXPECT_NE(test::error_of([&] { t.quantize_raw(-inf); }).find("-inf"), std::string::npos);
  EXPECT_THROW(T("ap_fixed<8,4,AP_RND,AP_SAT>").quantize_raw(inf), Error);
}

// ---------------------------------------------------------------------------------------
TEST(FixedPointRequantize, HandCases) {
  const FixedType t = T("ap_fixed<8,4>");  // F = 4
  // raw 6 at F = 6 is 1.5 target steps.
  EXPECT_EQ(t.requantize(6, 6), 1);
  EXPECT_EQ(With(t, QuantMode::RND).requantize(6, 6), 2);
  EXPECT_EQ(With(t, QuantMode::RND).requantize(-6, 6), -1);
  EXPECT_EQ(With(t, QuantMode::RND_CONV).requantize(10, 6), 2);  // 2.5 -> 2
  EXPECT_EQ(With(t, QuantMode::RND_CONV).requantize(-10, 6), -2);
  EXPECT_EQ(With(t, QuantMode::TRN_ZERO).requantize(-7, 6), -1);
  EXPECT_EQ(t.requantize(-7, 6), -2);
  EXPECT_EQ(t.requantize(37, 4), 37);  // same grid
  // Shift left (src F < target F) can overflow.
  EXPECT_EQ(t.requantize(5, -2), 64);  // 20 wraps: 320 mod 256
  EXPECT_EQ(With(t, QuantMode::TRN, OverflowMode::SAT).requantize(5, -2), 127);
  EXPECT_EQ(t.requantize(3, 0), 48);
  // Very far right: only the sign survives.
  EXPECT_EQ(t.requantize(int64_t{1} << 62, 100), 0);
  EXPECT_EQ(t.requantize(-1, 100), -1);
  EXPECT_EQ(With(t, QuantMode::RND).requantize(-1, 100), 0);
  EXPECT_EQ(With(t, QuantMode::RND).requantize(INT64_MAX, 64), 8);  // 8 - 2^-60 steps
  EXPECT_EQ(t.requantize(INT64_MAX, 64), 7);
  EXPECT_EQ(t.requantize(INT64_MIN, 64), -8);
  // 128 - 2^-59 steps: the rounding carry overflows.
  EXPECT_EQ(With(t, QuantMode::RND).requantize(INT64_MAX, 60), -128);
  EXPECT_EQ(With(t, QuantMode::RND, OverflowMode::SAT).requantize(INT64_MAX, 60), 127);
  EXPECT_EQ(With(t, QuantMode::RND, OverflowMode::SAT_ZERO).requantize(INT64_MAX, 60), 0);
  EXPECT_EQ(With(t, QuantMode::TRN, OverflowMode::SAT_ZERO).requantize(INT64_MAX, 60), 127);
  // Exact ties 60+ bits down: 2^62 / 2^63 = 0.5 and -2^63 / 2^64 = -0.5 target steps.
  const int64_t half62 = int64_t{1} << 62;
  EXPECT_EQ(With(t, QuantMode::RND).requantize(half62, 67), 1);
  EXPECT_EQ(With(t, QuantMode::RND_CONV).requantize(half62, 67), 0);
  EXPECT_EQ(With(t, QuantMode::RND_MIN_INF).requantize(half62, 67), 0);
  EXPECT_EQ(With(t, QuantMode::RND).requantize(-half62, 67), 0);
  EXPECT_EQ(With(t, QuantMode::RND_INF).requantize(-half62, 67), -1);
  EXPECT_EQ(With(t, QuantMode::RND).requantize(INT64_MIN, 68), 0);
  EXPECT_EQ(With(t, QuantMode::RND_MIN_INF).requantize(INT64_MIN, 68), -1);
  EXPECT_EQ(With(t, QuantMode::RND_ZERO).requantize(INT64_MIN, 68), 0);
  EXPECT_EQ(With(t, QuantMode::RND_INF).requantize(INT64_MIN, 68), -1);
  EXPECT_EQ(With(t, QuantMode::RND_CONV).requantize(INT64_MIN, 68), 0);
  EXPECT_EQ(With(t, QuantMode::RND_INF).requantize(INT64_MAX, 68), 0);  // just below the tie
  EXPECT_EQ(With(t, QuantMode::RND_MIN_INF).requantize(INT64_MIN + 1, 68), 0);  // just above
  EXPECT_EQ(t.requantize(INT64_MIN, INT_MAX), -1);
  EXPECT_EQ(With(t, QuantMode::TRN_ZERO).requantize(INT64_MIN, INT_MAX), 0);
  // Very far left: huge.
  EXPECT_EQ(t.requantize(1, -100), 0);
  EXPECT_EQ(t.requantize(3, -3), 128 - 256);  // 24 * 16 = 384 -> 128 -> -128
  EXPECT_EQ(With(t, QuantMode::TRN, OverflowMode::SAT).requantize(1, -100), 127);
  EXPECT_EQ(With(t, QuantMode::TRN, OverflowMode::SAT).requantize(-1, INT_MIN), -128);
  EXPECT_EQ(With(t, QuantMode::TRN, OverflowMode::SAT_SYM).requantize(-1, -100), -127);
  EXPECT_EQ(With(t, QuantMode::TRN, OverflowMode::SAT_ZERO).requantize(INT64_MAX, -60), 0);
  EXPECT_EQ(t.requantize(0, INT_MIN), 0);
  EXPECT_EQ(t.requantize(INT64_MIN, -59), 0);  // -2^63 * 2^63: multiple of 2^8
  const FixedType u = T("ap_ufixed<63,63,AP_TRN,AP_WRAP>");
  EXPECT_EQ(u.requantize(-1, 0), INT64_MAX);
  EXPECT_EQ(u.requantize(INT64_MIN, 0), 0);
  EXPECT_EQ(u.requantize(INT64_MAX, 0), INT64_MAX);
  EXPECT_EQ(u.requantize(INT64_MAX, -1), INT64_MAX - 1);  // low 63 bits of 2^64 - 2
}

// Property: requantize agrees with quantize_raw on the same real value whenever
// raw * 2^-src is exact as a double; both agree with the double-only test reference.
TEST(FixedPointRequantize, AgreesWithQuantizeRawOnRandomCases) {
  std::mt19937_64 rng(20240607);
  auto uni = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  int checked = 0;
  int nonzero = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    const int w = static_cast<int>(uni(1, 63));
    int i = static_cast<int>(uni(-70, 133));
    if (iter % 50 == 0) i = static_cast<int>(uni(0, 1) != 0 ? uni(-900, -850) : uni(850, 900));
    FixedType t = FixedType::make(w, i, uni(0, 1) != 0, kAllQ[uni(0, 6)], kAllO[uni(0, 3)]);
    // A source raw of random bit length (<= 53 so the double is exact) and sign.
    const int bits = static_cast<int>(uni(0, 53));
    int64_t raw = bits == 0 ? 0 : uni(0, (int64_t{1} << bits) - 1);
    if (uni(0, 1) != 0) raw = -raw;
    // Source frac bits around the target's, sometimes far off (negative, > 63).
    int src = t.frac_bits() + static_cast<int>(uni(-70, 70));
    if (iter % 7 == 0) src = static_cast<int>(uni(-200, 300));
    const double x = std::ldexp(static_cast<double>(raw), -src);
    if (!std::isfinite(x) || std::ldexp(x, src) != static_cast<double>(raw)) continue;
    const int64_t got = t.requantize(raw, src);
    ASSERT_EQ(got, t.quantize_raw(x)) << t.str() << " raw=" << raw << " src=" << src;
    const double y = std::ldexp(x, t.frac_bits());
    if (std::isfinite(y) && std::ldexp(y, -t.frac_bits()) == x) {
      ASSERT_EQ(got, RefQuantize(t, x)) << t.str() << " raw=" << raw << " src=" << src;
    }
    if (t.overflow != OverflowMode::WRAP) {
      ASSERT_GE(got, t.raw_min());
      ASSERT_LE(got, t.raw_max());
    }
    ++checked;
    if (got != 0) ++nonzero;
  }
  EXPECT_GT(checked, 15000);
  EXPECT_GT(nonzero, 5000);  // the cases are not mostly trivial
}

// Property: quantize_raw against the double-only reference, random doubles near each grid.
TEST(FixedPointRequantize, QuantizeRawMatchesReferenceOnRandomDoubles) {
  std::mt19937_64 rng(99);
  auto uni = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  int checked = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    const int w = static_cast<int>(uni(1, 63));
    const int i = static_cast<int>(uni(-40, 100));
    FixedType t = FixedType::make(w, i, uni(0, 1) != 0, kAllQ[uni(0, 6)], kAllO[uni(0, 3)]);
    // Mantissa of up to 53 bits, exponent so the value sits from deep below the step to
    // far beyond the range; ties are frequent for short mantissas.
    const int bits = static_cast<int>(uni(1, 53));
    double m = static_cast<double>(uni(1, (int64_t{1} << bits) - 1));
    if (uni(0, 1) != 0) m = -m;
    const double x =
        std::ldexp(m, static_cast<int>(uni(-t.frac_bits() - bits - 5, -t.frac_bits() + w + 10)));
    const double y = std::ldexp(x, t.frac_bits());
    if (!std::isfinite(y) || std::ldexp(y, -t.frac_bits()) != x) continue;
    ASSERT_EQ(t.quantize_raw(x), RefQuantize(t, x)) << t.str() << " x=" << x;
    ++checked;
  }
  EXPECT_GT(checked, 19000);
}

// ---------------------------------------------------------------------------------------
TEST(FixedPointString, ModeNames) {
  const char* q_names[] = {"AP_TRN",         "AP_TRN_ZERO", "AP_RND",     "AP_RND_ZERO",
                           "AP_RND_MIN_INF", "AP_RND_INF",  "AP_RND_CONV"};
  for (int i = 0; i < 7; ++i) EXPECT_EQ(to_string(kAllQ[i]), q_names[i]);
  const char* o_names[] = {"AP_WRAP", "AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM"};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(to_string(kAllO[i]), o_names[i]);
}

TEST(FixedPointString, PrintForms) {
  EXPECT_EQ(FixedType::make(16, 6).str(), "ap_fixed<16,6>");
  EXPECT_EQ(FixedType::make(16, 6, true, QuantMode::RND_CONV).str(), "ap_fixed<16,6,AP_RND_CONV>");
  EXPECT_EQ(FixedType::make(16, 6, true, QuantMode::RND_CONV, OverflowMode::SAT).str(),
            "ap_fixed<16,6,AP_RND_CONV,AP_SAT>");
  EXPECT_EQ(FixedType::make(8, 0, false, QuantMode::TRN, OverflowMode::SAT).str(),
            "ap_ufixed<8,0,AP_TRN,AP_SAT>");
  EXPECT_EQ(FixedType::make(8, 8).str(), "ap_fixed<8,8>");  // no int spelling by default
  FixedType i = FixedType::make(8, 8);
  i.int_spelling = true;
  EXPECT_EQ(i.str(), "ap_int<8>");
  i.is_signed = false;
  EXPECT_EQ(i.str(), "ap_uint<8>");
  i.overflow = OverflowMode::SAT;  // not expressible as ap_uint
  EXPECT_EQ(i.str(), "ap_ufixed<8,8,AP_TRN,AP_SAT>");
  EXPECT_EQ(FixedType::make(4, -3).str(), "ap_fixed<4,-3>");
}

TEST(FixedPointString, CanonicalRoundTrip) {
  std::vector<std::string> canon = {"ap_fixed<16,6>",
                                    "ap_fixed<16,6,AP_RND_CONV>",
                                    "ap_fixed<16,6,AP_RND_CONV,AP_SAT>",
                                    "ap_ufixed<8,0,AP_TRN,AP_SAT>",
                                    "ap_int<8>",
                                    "ap_uint<8>",
                                    "ap_fixed<4,6>",
                                    "ap_fixed<8,-2>",
                                    "ap_fixed<1,1>",
                                    "ap_ufixed<63,63,AP_RND,AP_SAT_SYM>",
                                    "ap_int<63>",
                                    "ap_uint<1>",
                                    "ap_fixed<8,-900>",
                                    "ap_fixed<8,900,AP_TRN,AP_SAT_ZERO>"};
  for (QuantMode q : kAllQ)
    for (OverflowMode o : kAllO) canon.push_back(FixedType::make(12, 3, true, q, o).str());
  for (const std::string& s : canon) {
    EXPECT_EQ(FixedType::parse(s).str(), s);
    EXPECT_EQ(precision_str(parse_precision(s)), s);
  }
  EXPECT_EQ(canon.size(), 14u + 28u);
}

TEST(FixedPointString, ParseFields) {
  const FixedType a = T("ap_ufixed<10,3,AP_RND_ZERO,AP_SAT_ZERO>");
  EXPECT_EQ(a.width, 10);
  EXPECT_EQ(a.integer, 3);
  EXPECT_FALSE(a.is_signed);
  EXPECT_EQ(a.quant, QuantMode::RND_ZERO);
  EXPECT_EQ(a.overflow, OverflowMode::SAT_ZERO);
  EXPECT_FALSE(a.int_spelling);
  const FixedType i = T("ap_int<12>");
  EXPECT_EQ(i.width, 12);
  EXPECT_EQ(i.integer, 12);
  EXPECT_TRUE(i.is_signed);
  EXPECT_TRUE(i.int_spelling);
  EXPECT_EQ(i, T("ap_fixed<12,12>"));  // spelling ignored by ==
  EXPECT_FALSE(i == T("ap_ufixed<12,12>"));
  EXPECT_FALSE(i == T("ap_fixed<12,12,AP_RND>"));
  EXPECT_EQ(T("ap_fixed<8,-3>").integer, -3);
  EXPECT_EQ(T("ap_fixed<8,+3>").integer, 3);
}

TEST(FixedPointString, ParseGenericAndLooseForms) {
  EXPECT_EQ(T("fixed<16,6>").str(), "ap_fixed<16,6>");
  EXPECT_EQ(T("ufixed<8,3,RND_CONV,SAT>").str(), "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>");
  EXPECT_EQ(T("int<8>").str(), "ap_int<8>");
  EXPECT_EQ(T("uint<4>").str(), "ap_uint<4>");
  EXPECT_FALSE(T("uint<4>").is_signed);
  EXPECT_EQ(T("fixed<16,6,RND,SAT_SYM>"), T("ap_fixed<16,6,AP_RND,AP_SAT_SYM>"));
  EXPECT_EQ(T(" ap_fixed < 16 , 6 , AP_RND , AP_SAT , 0 > ").str(), "ap_fixed<16,6,AP_RND,AP_SAT>");
  EXPECT_EQ(T("\tap_ fixed<1 6,6>\n").str(), "ap_fixed<16,6>");  // whitespace anywhere
  EXPECT_EQ(T("ap_fixed<16,6,AP_TRN,AP_WRAP,0>").str(), "ap_fixed<16,6>");
  EXPECT_EQ(T("ap_fixed<16,6,ap_rnd_conv,sat>").str(), "ap_fixed<16,6,AP_RND_CONV,AP_SAT>");
  EXPECT_EQ(T("ap_fixed<016,06>").str(), "ap_fixed<16,6>");
}

TEST(FixedPointString, ParseErrors) {
  auto msg = [](std::string_view s) { return test::error_of([&] { FixedType::parse(s); }); };
  EXPECT_EQ(msg("ap_fixed<16>"),
            "invalid fixed-point type \"ap_fixed<16>\": expected ap_fixed<W,I[,Q[,O]]>");
  EXPECT_EQ(msg("ap_fixed<0,0>"),
            "invalid fixed-point type \"ap_fixed<0,0>\": width 0 out of range 1..63");
  EXPECT_EQ(msg("ap_fixed<16,6,AP_FOO>"),
            "invalid fixed-point type \"ap_fixed<16,6,AP_FOO>\": unknown rounding mode "
            "\"AP_FOO\"");
  EXPECT_EQ(msg("ap_fixed<16,6,AP_RND,AP_BAR>"),
            "invalid fixed-point type \"ap_fixed<16,6,AP_RND,AP_BAR>\": unknown overflow mode "
            "\"AP_BAR\"");
  EXPECT_EQ(msg("ap_int<8,3>"), "invalid fixed-point type \"ap_int<8,3>\": expected ap_int<W>");
  EXPECT_EQ(msg("uint<>"), "invalid fixed-point type \"uint<>\": expected uint<W>");

  struct Bad {
    const char* text;
    const char* says;
  };
  const Bad bad[] = {
      {"", "empty type"},
      {"   ", "empty type"},
      {"ap_fixed<64,6>", "width 64 out of range 1..63"},
      {"ap_fixed<-3,2>", "width -3 out of range 1..63"},
      {"ap_int<0>", "width 0 out of range 1..63"},
      {"ap_uint<64>", "width 64 out of range 1..63"},
      {"ap_fixed<99999999999999999999,6>", "width 99999999999999999999 out of range 1..63"},
      {"ap_fixed<16,1000>", "integer bits 1000 out of range -900..900"},
      {"ap_fixed<16,-99999999999999999999>", "integer bits -99999999999999999999 out of range"},
      {"ap_fixed<a,6>", "width \"a\" is not an integer"},
      {"ap_fixed<1.5,1>", "width \"1.5\" is not an integer"},
      {"ap_fixed<16,x>", "integer bits \"x\" is not an integer"},
      {"ap_fixed<16,+-3>", "integer bits \"+-3\" is not an integer"},
      {"ap_fixed<16,,AP_RND>", "empty argument"},
      {"ap_fixed<16,6,>", "empty argument"},
      {"ap_fixed<16,6", "missing '>'"},
      {"ap_fixed<16,6>x", "unexpected text \"x\" after '>'"},
      {"ap_fixed<16,6>>", "unexpected text \">\" after '>'"},
      {"ap_fixed16,6", "expected ap_fixed<W,I[,Q[,O]]>, ap_ufixed<W,I[,Q[,O]]>, ap_int<W>"},
      {"float", "expected ap_fixed<W,I[,Q[,O]]>"},
      {"ap_float<16,6>", "unknown type name \"ap_float\""},
      {"<16,6>", "unknown type name \"\""},
      {"ap_fixed<16,6,AP_RND,AP_WRAP_SM>", "overflow mode AP_WRAP_SM is not supported"},
      {"ap_fixed<16,6,AP_RND,WRAP_SM>", "overflow mode AP_WRAP_SM is not supported"},
      {"ap_fixed<16,6,AP_RND,AP_SAT,2>", "saturation bit count N=2 is not supported (only 0)"},
      {"ap_fixed<16,6,AP_RND,AP_SAT,x>", "saturation bit count \"x\" is not an integer"},
      {"ap_fixed<16,6,AP_RND,AP_SAT,0,1>", "expected ap_fixed<W,I[,Q[,O]]>"},
      {"ap_fixed<16,6,AP_SAT>", "\"AP_SAT\" is an overflow mode where the rounding mode Q"},
      {"ap_fixed<16,6,AP_RND,AP_RND>", "\"AP_RND\" is a rounding mode where the overflow mode"},
      {"ap_fixed<16,6,AP_>", "unknown rounding mode \"AP_\""},
      {"ap_fixed<16,6,AP_RND,AP_SAT_SYMM>", "unknown overflow mode \"AP_SAT_SYMM\""},
      {"ap_ufixed<16>", "expected ap_ufixed<W,I[,Q[,O]]>"},
      {"fixed<16>", "expected fixed<W,I[,Q[,O]]>"},
      {"AP_FIXED<16,6>", "unknown type name \"AP_FIXED\""},
  };
  for (const Bad& b : bad) {
    const std::string m = msg(b.text);
    const std::string quoted = std::string("invalid fixed-point type \"") + b.text + "\": ";
    EXPECT_EQ(m.rfind(quoted, 0), 0u) << b.text << " -> " << m;
    EXPECT_NE(m.find(b.says), std::string::npos) << b.text << " -> " << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  // Control characters in the input are escaped, so the message stays on one line.
  const std::string m = msg("ap_fixed<16,\n6,FOO>");
  EXPECT_EQ(m,
            "invalid fixed-point type \"ap_fixed<16,\\n6,FOO>\": unknown rounding mode "
            "\"FOO\"");
}

TEST(FixedPointString, Precision) {
  EXPECT_FALSE(parse_precision("float").has_value());
  EXPECT_FALSE(parse_precision("float32").has_value());
  EXPECT_FALSE(parse_precision(" float ").has_value());
  const Precision p = parse_precision("ap_fixed<8,3,AP_RND>");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->width, 8);
  EXPECT_EQ(p->quant, QuantMode::RND);
  EXPECT_EQ(precision_str(std::nullopt), "float");
  EXPECT_EQ(precision_str(p), "ap_fixed<8,3,AP_RND>");
  EXPECT_THROW(parse_precision("double"), Error);
  EXPECT_THROW(parse_precision("float64"), Error);
  EXPECT_THROW(parse_precision(""), Error);
}

TEST(Saturating, ReplacesWrapOnly) {
  EXPECT_EQ(saturating(FixedType::parse("ap_fixed<16,6>")).str(), "ap_fixed<16,6,AP_TRN,AP_SAT>");
  EXPECT_EQ(saturating(FixedType::parse("ap_fixed<8,3,AP_RND,AP_SAT_SYM>")).str(),
            "ap_fixed<8,3,AP_RND,AP_SAT_SYM>");
  EXPECT_EQ(saturating(FixedType::parse("ap_ufixed<8,3,AP_RND_CONV>")).str(),
            "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>");
  EXPECT_EQ(saturating(Precision{}), std::nullopt);
  EXPECT_EQ(saturating(FixedType::parse("ap_fixed<6,3>")).quantize(-9.0), -4.0);
}

// The float fast path equals the exact quantizer on every mode: random values over and
// beyond each type's range, exact ties of its grid, grid points, and the edges.
TEST(FloatQuantizer, EqualsTheExactQuantizerOnEveryMode) {
  const QuantMode quants[] = {QuantMode::TRN,     QuantMode::TRN_ZERO,    QuantMode::RND,
                              QuantMode::RND_ZERO, QuantMode::RND_MIN_INF, QuantMode::RND_INF,
                              QuantMode::RND_CONV};
  const OverflowMode overflows[] = {OverflowMode::WRAP, OverflowMode::SAT, OverflowMode::SAT_ZERO,
                                    OverflowMode::SAT_SYM};
  const int shapes[][2] = {{16, 6}, {8, 3}, {4, 0}, {1, 1}, {12, 14}, {24, 4}, {40, 20}, {6, -2}};
  std::mt19937_64 rng(3);
  int64_t checked = 0;
  for (const auto& wi : shapes)
    for (bool sgn : {true, false})
      for (QuantMode q : quants)
        for (OverflowMode o : overflows) {
          const FixedType t = FixedType::make(wi[0], wi[1], sgn, q, o);
          const FloatQuantizer fq(t);
          const double range = std::ldexp(1.0, wi[1] + 1);
          const double step = t.step();
          std::uniform_real_distribution<double> any(-1.5 * range, 1.5 * range);
          std::uniform_int_distribution<int64_t> cell(t.raw_min() - 3, t.raw_max() + 3);
          for (int i = 0; i < 4000; ++i) {
            float x;
            switch (i % 4) {
              case 0:
                x = static_cast<float>(any(rng));
                break;
              case 1:  // an exact tie between two grid points
                x = static_cast<float>((static_cast<double>(cell(rng)) + 0.5) * step);
                break;
              case 2:  // a grid point
                x = static_cast<float>(static_cast<double>(cell(rng)) * step);
                break;
              default:  // just beside a grid point
                x = std::nextafter(static_cast<float>(static_cast<double>(cell(rng)) * step),
                                   i % 8 < 4 ? -INFINITY : INFINITY);
            }
            bool wrapped = false;
            const float got = fq(x, &wrapped);
            const float want = static_cast<float>(t.quantize(static_cast<double>(x)));
            ASSERT_EQ(got, want) << t.str() << " x=" << x;
            const bool wraps = o == OverflowMode::WRAP &&
                               t.quantize_raw(x) != saturating(t).quantize_raw(x);
            ASSERT_EQ(wrapped, wraps) << t.str() << " x=" << x;
            ++checked;
          }
        }
  EXPECT_EQ(checked, 8 * 2 * 7 * 4 * 4000);
  EXPECT_THROW(FloatQuantizer(FixedType::parse("ap_fixed<8,3>"))(NAN), Error);
}

}  // namespace
}  // namespace hwprune
