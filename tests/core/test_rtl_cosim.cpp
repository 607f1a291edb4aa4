// Verilog generation + Verilator co-simulation against the integer model: bit-exact outputs
// on random raw and data-like inputs, measured latency/interval, live-lane packing, and the
// refusals. Each network is one Verilator build (3-6 s); see docs/rtl.md.
#include <algorithm>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/hw/estimate.hpp"
#include "hwprune/hw/hardware.hpp"
#include "hwprune/ir/int_model.hpp"
#include "hwprune/rtl/verilog.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using test::error_of;
using ::testing::HasSubstr;

// Lanes: whole multiplier lanes; Words: whole ROM words (every third); OneWord: all but ROM
// word 1; Outputs: every weight of every third output.
enum class Zeros { None, Lanes, Scattered, Both, Words, OneWord, Outputs };

FixedType T(const char* s) {
  return FixedType::parse(s);
}

struct LayerSpec {
  int64_t n_in, n_out, rf;
  const char* weight;
  const char* accum;
  const char* result;
  const char* relu_result;  // nullptr: no ReLU
  Zeros zeros;
  Strategy strategy = Strategy::Resource;  // at RF > 1
};

struct Net {
  IntNetwork net;
  std::vector<hw::LayerHw> hw;
};

Net make_net(const char* input, const std::vector<LayerSpec>& specs, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Net out;
  out.net.name = fmt::format("net{}", seed);
  out.net.input = T(input);
  out.net.input_shape = {specs.front().n_in};
  FixedType in = out.net.input;
  for (size_t k = 0; k < specs.size(); ++k) {
    const LayerSpec& s = specs[k];
    IntDense l;
    l.name = fmt::format("dense_{}", k);
    l.n_in = s.n_in;
    l.n_out = s.n_out;
    l.input = in;
    l.weight = T(s.weight);
    l.bias = l.weight;
    l.accum = T(s.accum);
    l.result = T(s.result);
    l.relu = s.relu_result != nullptr;
    if (l.relu) l.relu_result = T(s.relu_result);
    l.reuse_factor = s.rf;
    std::uniform_int_distribution<int64_t> wd(l.weight.raw_min(), l.weight.raw_max());
    const int64_t n = s.n_in * s.n_out;
    l.w.resize(static_cast<size_t>(n));
    for (auto& w : l.w) w = wd(rng);
    l.b.resize(static_cast<size_t>(s.n_out));
    for (auto& b : l.b) b = wd(rng);
    hw::LayerHw h;
    h.name = l.name;
    h.n_in = s.n_in;
    h.n_out = s.n_out;
    h.n_products = n;
    h.reuse_factor = s.rf;
    h.block_factor = hw::ceil_div(n, s.rf);
    h.strategy = s.rf > 1 ? s.strategy : Strategy::Latency;
    h.weight = l.weight;
    h.bias = l.bias;
    h.accum = l.accum;
    h.result = l.result;
    h.input = l.input;
    EXPECT_TRUE(hw::is_valid_reuse_factor(s.n_in, s.n_out, s.rf, h.strategy)) << l.name;
    std::bernoulli_distribution coin(0.5), sparse(0.3);
    for (int64_t k2 = 0; k2 < n; ++k2) {
      const hw::WeightSlot slot = hw::weight_slot(h, k2);
      const bool lane_dead = (s.zeros == Zeros::Lanes || s.zeros == Zeros::Both) &&
                             (slot.multiplier * 2654435761u + seed) % 3 == 0;
      const bool word_dead =
          (s.zeros == Zeros::Words && (slot.cycle + static_cast<int64_t>(k + seed)) % 3 == 0) ||
          (s.zeros == Zeros::OneWord && slot.cycle != 1) ||
          (s.zeros == Zeros::Outputs && slot.output % 3 == 0);
      if (lane_dead || word_dead) l.w[static_cast<size_t>(k2)] = 0;
    }
    if (s.zeros == Zeros::Scattered || s.zeros == Zeros::Both)
      for (auto& w : l.w)
        if (sparse(rng)) w = 0;
    in = l.relu ? l.relu_result : l.result;
    out.net.layers.push_back(l);
    out.hw.push_back(h);
  }
  return out;
}

// Raw ints across the whole input range, then data-like values (standard normal).
std::vector<std::vector<int64_t>> make_inputs(const IntNetwork& net, int count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const FixedType t = net.input;
  std::uniform_int_distribution<int64_t> raw(t.raw_min(), t.raw_max());
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(count));
  for (int s = 0; s < count; ++s) {
    auto& v = out[static_cast<size_t>(s)];
    v.resize(static_cast<size_t>(net.n_in()));
    for (auto& x : v) x = s % 2 == 0 ? raw(rng) : t.quantize_raw(normal(rng));
  }
  // The extremes.
  out[0].assign(out[0].size(), t.raw_max());
  out[2].assign(out[2].size(), t.raw_min());
  return out;
}

std::vector<uint8_t> live_weights(const IntDense& l) {
  std::vector<uint8_t> live(l.w.size());
  for (size_t k = 0; k < l.w.size(); ++k) live[k] = l.w[k] != 0;
  return live;
}

int64_t count_live_lanes(const IntDense& l, const hw::LayerHw& h) {
  int64_t n = 0;
  for (uint8_t v : hw::live_lanes(h, live_weights(l))) n += v;
  return n;
}

// ROM words the generated layer runs through: all RF, or under Unrolled those with a non-zero
// weight (at least one).
int64_t run_words(const IntDense& l, const hw::LayerHw& h) {
  if (h.strategy != Strategy::Unrolled) return l.reuse_factor;
  std::vector<uint8_t> word(static_cast<size_t>(l.reuse_factor), 0);
  for (int64_t k = 0; k < h.n_products; ++k)
    if (l.w[static_cast<size_t>(k)] != 0)
      word[static_cast<size_t>(hw::weight_slot(h, k).cycle)] = 1;
  return std::max<int64_t>(1, std::count(word.begin(), word.end(), uint8_t{1}));
}

// Generates, checks the lane packing, co-simulates 1000 samples, checks timing; returns the
// design and leaves the build in `dir` for more runs.
struct CosimRun {
  rtl::VerilogDesign design;
  std::vector<std::vector<int64_t>> inputs, expected;
};

// The simulator's folder: in `dir`, or under $HWPRUNE_RTL_KEEP (kept, for debugging).
std::string sim_dir(const test::ScratchDir& dir) {
  if (const char* keep = std::getenv("HWPRUNE_RTL_KEEP"))
    return std::string(keep) + "/" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
  return dir.file("sim");
}

CosimRun check_network(const Net& n, const test::ScratchDir& dir, int samples = 1000) {
  CosimRun r;
  r.design = rtl::generate_verilog(n.net, n.hw);
  const auto& d = r.design;
  EXPECT_EQ(d.layers.size(), n.net.layers.size());
  int64_t latency = 0, interval = 1;
  for (size_t k = 0; k < d.layers.size(); ++k) {
    const IntDense& l = n.net.dense(k);
    const rtl::LayerRtl& lr = d.layers[k];
    if (l.reuse_factor > 1) {
      const int64_t lanes = count_live_lanes(l, n.hw[k]);
      EXPECT_EQ(lr.multipliers, lanes) << l.name;
      int64_t rom_width = lanes * l.weight.width;
      if (!l.bits.empty()) {  // each lane as wide as its widest live weight
        rom_width = 0;
        for (int b : hw::lane_bits(n.hw[k], live_weights(l), l.bits)) rom_width += b;
      }
      EXPECT_EQ(lr.rom_width, rom_width) << l.name;
      EXPECT_EQ(lr.rom_depth, l.reuse_factor) << l.name;
      // The first word is read on the edge that samples start; the last writes y.
      EXPECT_EQ(lr.latency, run_words(l, n.hw[k]) + 1) << l.name;
    } else {
      // One product per input and odd weight value (weights odd * 2^s share it).
      std::set<std::pair<int64_t, int64_t>> products;
      for (size_t k = 0; k < l.w.size(); ++k)
        if (l.w[k] != 0)
          products.emplace(static_cast<int64_t>(k) / l.n_out, hw::odd_part(l.w[k]).value);
      EXPECT_EQ(lr.multipliers, static_cast<int64_t>(products.size())) << l.name;
      EXPECT_EQ(lr.rom_width, 0) << l.name;
      EXPECT_EQ(lr.latency, 1) << l.name;
    }
    // The estimator's latency is the generated one.
    EXPECT_EQ(hw::layer_latency(n.hw[k], hw::kernel_cycles(n.hw[k], live_weights(l))), lr.latency)
        << l.name;
    latency += lr.latency;
    interval = std::max(interval, l.reuse_factor);
  }
  EXPECT_EQ(d.latency, latency);
  EXPECT_EQ(d.interval, interval);
  r.inputs = make_inputs(n.net, samples, 7);
  for (const auto& x : r.inputs) r.expected.push_back(n.net.run(x));
  const rtl::CosimResult c = rtl::cosimulate(d, r.inputs, r.expected, sim_dir(dir));
  EXPECT_EQ(c.samples, samples);
  EXPECT_EQ(c.mismatches, 0) << c.first_mismatch;
  EXPECT_EQ(c.first_mismatch, "");
  EXPECT_EQ(c.latency, d.latency);
  EXPECT_EQ(c.min_latency, d.latency);
  EXPECT_EQ(c.interval, d.interval);
  EXPECT_EQ(c.warnings, "") << "Verilator -Wall";
  return r;
}

// Types: the first layer's accumulator rounds products (frac 20 or 15 -> 12) and wraps on
// full-range inputs; results round and saturate; ReLU results are unsigned.
constexpr const char* kIn = "ap_fixed<16,6>";
constexpr const char* kW16 = "ap_fixed<16,6>";
constexpr const char* kW8 = "ap_fixed<8,3>";
// A rounding accumulator, a saturating result, an unsigned ReLU result.
constexpr const char* kAcc = "ap_fixed<24,12,AP_RND_CONV>";
constexpr const char* kRes = "ap_fixed<16,6,AP_RND,AP_SAT>";
constexpr const char* kRelu = "ap_ufixed<12,4,AP_RND_CONV,AP_SAT>";

TEST(RtlCosim, Rf1ConstantsWithSaturatingAccumulatorAndMismatchDetection) {
  const Net n =
      make_net(kIn,
               {{32, 16, 1, kW16, "ap_fixed<18,8,AP_RND,AP_SAT>", "ap_fixed<16,6,AP_RND,AP_SAT>",
                 "ap_ufixed<12,4,AP_RND_CONV,AP_SAT>", Zeros::None},
                {16, 8, 1, kW8, "ap_fixed<24,12,AP_RND_CONV>",
                 "ap_fixed<14,6,AP_TRN_ZERO,AP_SAT_SYM>", nullptr, Zeros::Scattered}},
               1);
  test::ScratchDir dir;
  CosimRun r = check_network(n, dir);
  EXPECT_THAT(r.design.verilog, HasSubstr("module hwprune_top"));
  // A wrong expected value is caught (same build, re-run).
  r.expected[123][5] += 1;
  const rtl::CosimResult c = rtl::cosimulate(r.design, r.inputs, r.expected, sim_dir(dir));
  EXPECT_FALSE(c.rebuilt);
  EXPECT_EQ(c.mismatches, 1);
  EXPECT_THAT(c.first_mismatch, HasSubstr("sample 123 output 5"));
}

// RF 1: the weights of one input that share an odd part (3, 6, -3, 12, 3 * 2^9 and the wide
// 301, 602) share one product; the co-simulation stays bit-exact, and the generator counts
// the products the estimate counts.
TEST(RtlCosim, Rf1SharesOneProductPerInputAndOddValue) {
  Net n = make_net(kIn, {{8, 8, 1, kW16, kAcc, kRes, nullptr, Zeros::None}}, 7);
  IntDense& l = n.net.dense(0);
  const std::vector<int64_t> first = {3, 6, -3, 12, 3 << 9, 301, 602, 0};
  for (int64_t o = 0; o < l.n_out; ++o) l.w[static_cast<size_t>(o)] = first[o];  // input 0
  test::ScratchDir dir;
  const CosimRun r = check_network(n, dir);
  // Input 0: products 3 (shared by 3, 6, 12, 1536), -3 and 301 (shared by 301, 602).
  EXPECT_LE(r.design.layers[0].multipliers, 8 * 8 - 8 + 3);
  EXPECT_THAT(r.design.verilog, HasSubstr("<< 9"));
}

TEST(RtlCosim, Rf2And4W8LanesAndScatteredZeros) {
  const Net n = make_net(
      kIn,
      {{32, 16, 2, kW8, "ap_fixed<24,12,AP_TRN>", "ap_fixed<16,6,AP_RND,AP_SAT>",
        "ap_ufixed<12,4,AP_RND_CONV,AP_SAT>", Zeros::Lanes},
       {16, 8, 4, kW8, "ap_fixed<22,10,AP_RND_MIN_INF>", "ap_fixed<16,6>", nullptr, Zeros::Both}},
      2);
  test::ScratchDir dir;
  const CosimRun r = check_network(n, dir);
  EXPECT_THAT(r.design.verilog, HasSubstr("(* rom_style = \"block\" *)"));
  EXPECT_LT(r.design.layers[0].multipliers, 256);  // some lanes were pruned
}

// Per-weight widths (joint pruning and precision): every lane of a 16-bit layer at its own
// width (3, 5, 8 bits: LUT multiplier modules; 12, 16 bits: DSPs), its weights on that grid;
// the ROM packs the lanes at their widths. Bit-exact at RF 2 and 4.
TEST(RtlCosim, LanesAtTheirOwnWidths) {
  Net n = make_net(
      kIn,
      {{32, 16, 2, kW16, "ap_fixed<24,12,AP_RND_CONV>", "ap_fixed<16,6,AP_RND,AP_SAT>",
        "ap_ufixed<12,4,AP_RND_CONV,AP_SAT>", Zeros::Lanes},
       {16, 8, 4, kW16, "ap_fixed<24,12,AP_TRN>", "ap_fixed<16,6>", nullptr, Zeros::Scattered}},
      7);
  const int widths[] = {3, 5, 8, 12, 16};
  for (size_t k = 0; k < n.net.layers.size(); ++k) {
    IntDense& l = std::get<IntDense>(n.net.layers[k]);
    l.bits.resize(l.w.size());
    for (size_t i = 0; i < l.w.size(); ++i) {
      const hw::WeightSlot slot = hw::weight_slot(n.hw[k], static_cast<int64_t>(i));
      const int b = widths[static_cast<size_t>(slot.multiplier) % 5];
      // Half the weights of a lane one step narrower: the lane is as wide as its widest.
      const int own = (i % 2 && b > 3) ? b - 2 : b;
      l.bits[i] = own;
      l.w[i] = (l.w[i] >> (16 - own)) * (int64_t{1} << (16 - own));
    }
  }
  test::ScratchDir dir;
  const CosimRun r = check_network(n, dir, 600);
  EXPECT_THAT(r.design.verilog, HasSubstr("lutmul_w5_x16"));
  EXPECT_THAT(r.design.verilog, HasSubstr("_lane_b12"));
  EXPECT_LT(r.design.layers[0].rom_width, r.design.layers[0].multipliers * 16);
}

TEST(RtlCosim, Rf4And8W16Lanes) {
  const Net n =
      make_net(kIn,
               {{32, 16, 4, kW16, "ap_fixed<24,12,AP_RND_CONV>", "ap_fixed<16,6,AP_RND_INF,AP_SAT>",
                 "ap_ufixed<12,4,AP_RND_ZERO,AP_SAT_ZERO>", Zeros::Lanes},
                {16, 8, 8, kW16, "ap_fixed<24,12,AP_TRN_ZERO>", "ap_fixed<16,6,AP_RND,AP_SAT>",
                 "ap_ufixed<10,4,AP_RND,AP_SAT>", Zeros::None}},
               3);
  test::ScratchDir dir;
  check_network(n, dir);
}

TEST(RtlCosim, Rf8And16W8Scattered) {
  const Net n =
      make_net(kIn,
               {{32, 16, 8, kW8, "ap_fixed<20,10,AP_RND_INF>", "ap_fixed<16,6,AP_RND,AP_SAT>",
                 "ap_ufixed<12,4,AP_RND_CONV,AP_SAT>", Zeros::Scattered},
                {16, 8, 16, kW8, "ap_fixed<24,12,AP_RND_CONV>", "ap_fixed<16,6,AP_RND_CONV,AP_SAT>",
                 nullptr, Zeros::Scattered}},
               4);
  test::ScratchDir dir;
  check_network(n, dir);
}

TEST(RtlCosim, Rf16AndRfAboveNin) {
  // 16x8 at RF 32 > n_in: every lane reads input ir mod 16 and serves two outputs.
  const Net n =
      make_net(kIn,
               {{32, 16, 16, kW16, "ap_fixed<24,12,AP_RND_CONV>", "ap_fixed<16,6,AP_RND,AP_SAT>",
                 "ap_ufixed<12,4,AP_RND_CONV,AP_SAT>", Zeros::Both},
                {16, 8, 32, kW16, "ap_fixed<24,12,AP_RND>", "ap_fixed<16,6,AP_RND,AP_SAT>",
                 "ap_ufixed<12,4,AP_RND_CONV,AP_SAT>", Zeros::Lanes}},
               5);
  test::ScratchDir dir;
  check_network(n, dir);
}

TEST(RtlCosim, ThreeLayersDifferentReuseFactors) {
  const Net n =
      make_net(kIn,
               {{16, 32, 4, kW16, "ap_fixed<24,12,AP_RND_CONV>", "ap_fixed<16,6,AP_RND,AP_SAT>",
                 "ap_ufixed<12,4,AP_RND_CONV,AP_SAT>", Zeros::Lanes},
                {32, 16, 1, kW8, "ap_fixed<24,12,AP_RND_CONV>", "ap_fixed<16,6,AP_RND,AP_SAT>",
                 "ap_ufixed<12,4,AP_RND_CONV,AP_SAT>", Zeros::Scattered},
                {16, 5, 16, kW16, "ap_fixed<24,12,AP_RND_CONV>", "ap_fixed<16,6,AP_RND,AP_SAT>",
                 nullptr, Zeros::Both}},
               6);
  test::ScratchDir dir;
  const CosimRun r = check_network(n, dir);
  EXPECT_EQ(r.design.latency, (4 + 1) + 1 + (16 + 1));
  EXPECT_EQ(r.design.interval, 16);
}

// Unrolled skips the ROM words that hold no live weight: gaps (word 0 among them), a single
// live word (no input register needed), and every word live.
TEST(RtlCosim, UnrolledSkipsDeadWords) {
  const auto u = Strategy::Unrolled;
  const Net n = make_net(kIn,
                         {{32, 16, 8, kW16, kAcc, kRes, kRelu, Zeros::Words, u},
                          {16, 8, 4, kW8, kAcc, kRes, kRelu, Zeros::OneWord, u},
                          {8, 4, 2, kW16, "ap_fixed<24,12,AP_TRN>", kRes, nullptr, Zeros::None, u}},
                         12);
  test::ScratchDir dir;
  const CosimRun r = check_network(n, dir);
  // Layer 0 (seed 12): words 0, 3 and 6 are dead, 5 run; layer 1: word 1 only; layer 2: both.
  EXPECT_EQ(r.design.latency, (5 + 1) + (1 + 1) + (2 + 1));
  EXPECT_EQ(r.design.interval, 8);
}

// Outputs without a weight hold their bias's output-stage value (a constant in the generated
// layer): DSP lanes (16-bit weights, a ReLU) and LUT lanes (8-bit).
TEST(RtlCosim, OutputsWithoutWeights) {
  const Net n = make_net(kIn,
                         {{32, 16, 4, kW16, kAcc, kRes, kRelu, Zeros::Outputs},
                          {16, 8, 2, kW8, kAcc, kRes, nullptr, Zeros::Outputs}},
                         13);
  test::ScratchDir dir;
  const CosimRun r = check_network(n, dir);
  EXPECT_THAT(r.design.verilog, HasSubstr("assign y[11:0] = 12'b"));  // output 0 of layer 0
}

TEST(RtlCosim, Refusals) {
  // Saturating accumulator at RF > 1: the parallel adds cannot follow the model's order.
  Net n = make_net(
      kIn,
      {{16, 8, 4, kW16, "ap_fixed<24,12,AP_RND,AP_SAT>", "ap_fixed<16,6>", nullptr, Zeros::None}},
      9);
  EXPECT_THAT(error_of([&] { rtl::generate_verilog(n.net, n.hw); }),
              HasSubstr("layer 'dense_0': accumulator ap_fixed<24,12,AP_RND,AP_SAT> saturates"));
  // Latency strategy at RF > 1.
  n.net.dense(0).accum = T("ap_fixed<24,12>");
  n.hw[0].strategy = Strategy::Latency;
  EXPECT_THAT(error_of([&] { rtl::generate_verilog(n.net, n.hw); }),
              HasSubstr("Latency strategy at reuse factor 4"));
  // RF of the hardware and of the integer model disagree.
  n.hw[0].strategy = Strategy::Resource;
  n.hw[0].reuse_factor = 2;
  EXPECT_THAT(error_of([&] { rtl::generate_verilog(n.net, n.hw); }),
              HasSubstr("differs from the integer model's 4"));
  n.hw[0].reuse_factor = 4;
  // Missing hardware layers.
  EXPECT_THAT(error_of([&] { rtl::generate_verilog(n.net, {}); }), HasSubstr("0 hardware layers"));
  // Verilator missing: the message names the package.
  const rtl::VerilogDesign d = rtl::generate_verilog(n.net, n.hw);
  const std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  setenv("PATH", "/nonexistent", 1);
  const std::string msg = error_of([&] { rtl::cosimulate(d, {}, {}, "/tmp/unused"); });
  setenv("PATH", path.c_str(), 1);
  EXPECT_THAT(msg, HasSubstr("apt-get install verilator"));
}

}  // namespace
}  // namespace hwprune
