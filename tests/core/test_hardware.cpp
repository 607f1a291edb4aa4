// The hardware model: hand-computed weight-to-multiplier maps, hls4ml's reuse-factor rules,
// DSP/BRAM18 formulas on the jet-mlp, weight groups, and the objectives' cost models.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/hw/estimate.hpp"
#include "hwprune/hw/hardware.hpp"
#include "hwprune/hw/objectives.hpp"
#include "hwprune/io/model_file.hpp"
#include "hwprune/structures/groups.hpp"
#include "support/models.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using hw::GroupKind;
using hw::HardwareDefaults;
using test::error_of;
using ::testing::HasSubstr;

// Seeded Glorot weights kept away from 0 (|w| >= 0.15) so that no weight quantizes to 0 by
// chance (only masks make zeros here), and biases 0.25.
void init_nonzero(Model& m, uint64_t seed) {
  init_weights(m, seed);
  for (Layer& l : m.layers) {
    if (!l.has_kernel()) continue;
    for (float& w : l.weight("kernel").data)
      if (std::abs(w) < 0.15f) w = w < 0 ? -0.2f : 0.2f;
    if (l.use_bias) std::fill(l.weight("bias").data.begin(), l.weight("bias").data.end(), 0.25f);
  }
}

// A Dense-only model n0-n1-...; all precisions `precision`.
Model dense_model(const std::vector<int64_t>& sizes,
                  const std::string& precision = "ap_fixed<16,6>") {
  Model m;
  m.input_shape = {sizes[0]};
  for (size_t i = 1; i < sizes.size(); ++i) {
    m.layers.push_back(test::make_layer(fmt::format("fc{}", i), LayerKind::Dense));
    m.layers.back().units = sizes[i];
    m.layers.back().weights = {{"kernel", Tensor({sizes[i - 1], sizes[i]})},
                               {"bias", Tensor({sizes[i]})}};
  }
  init_nonzero(m, 7);
  m.set_precision(parse_precision(precision));
  m.infer_shapes();
  return m;
}

// Conv2D with F filters and a KxK kernel on an HxWxC input.
Model conv_model(int64_t h, int64_t w, int64_t c, int64_t f, int64_t k) {
  Model m;
  m.input_shape = {h, w, c};
  Layer l = test::make_layer("conv", LayerKind::Conv2D);
  l.filters = f;
  l.kernel_size = {k, k};
  l.strides = {1, 1};
  l.weights = {{"kernel", Tensor({k, k, c, f})}, {"bias", Tensor({f})}};
  m.layers.push_back(l);
  init_nonzero(m, 3);
  m.set_precision(parse_precision("ap_fixed<16,6>"));
  m.infer_shapes();
  return m;
}

hw::LayerHw resolve_one(const Model& m, int64_t rf, std::optional<Strategy> strategy = std::nullopt,
                        int64_t pf = 1) {
  HardwareDefaults d;
  d.reuse_factor = rf;
  d.strategy = strategy;
  d.parallelization_factor = pf;
  return hw::resolve_hardware(m, d).layers.at(0);
}

std::set<int64_t> as_set(std::span<const int64_t> s) {
  return {s.begin(), s.end()};
}

// ---------------------------------------------------------------- the map, by hand

TEST(WeightMap, Dense16x64AtRf1_2_16_64) {
  const Model m = dense_model({16, 64});
  // Weight (i = 3, o = 5): Keras index 3*64 + 5 = 197, transposed t = 5*16 + 3 = 83.
  const int64_t k = 3 * 64 + 5;
  struct Case {
    int64_t rf, bf, multiplier, cycle;
  };
  for (const Case c :
       {Case{1, 1024, 83, 0}, Case{2, 512, 41, 1}, Case{16, 64, 5, 3}, Case{64, 16, 1, 19}}) {
    SCOPED_TRACE(fmt::format("RF {}", c.rf));
    const hw::LayerHw h = resolve_one(m, c.rf);
    EXPECT_EQ(h.n_in, 16);
    EXPECT_EQ(h.n_out, 64);
    EXPECT_EQ(h.block_factor, c.bf);
    EXPECT_EQ(h.strategy, c.rf == 1 ? Strategy::Latency : Strategy::Resource);
    const hw::WeightSlot s = hw::weight_slot(h, k);
    EXPECT_EQ(s.transposed, 83);
    EXPECT_EQ(s.multiplier, c.multiplier);
    EXPECT_EQ(s.cycle, c.cycle);
    EXPECT_EQ(s.rom_word, c.cycle);
    EXPECT_EQ(s.lane, c.multiplier);
    EXPECT_EQ(s.input, 3);
    EXPECT_EQ(s.output, 5);
    EXPECT_EQ(hw::keras_index(h, s.transposed), k);
  }
  // RF = n_in: multiplier m owns exactly neuron m's column, in input order.
  const hw::LayerHw h16 = resolve_one(m, 16);
  const auto patterns = structures::make_groups(m.layers[0], h16, GroupKind::Pattern);
  const auto neurons = structures::make_groups(m.layers[0], h16, GroupKind::Neuron);
  ASSERT_EQ(patterns.size(), 64u);
  for (size_t o = 0; o < 64; ++o) {
    EXPECT_EQ(as_set(patterns.group(o)), as_set(neurons.group(o)));
    EXPECT_EQ(patterns.group(o)[0], static_cast<int64_t>(o));  // i = 0 first
  }
  // RF = 64 = 4 n_in: multiplier 1 covers neurons 4..7 whole.
  const hw::LayerHw h64 = resolve_one(m, 64);
  const auto p64 = structures::make_groups(m.layers[0], h64, GroupKind::Pattern);
  std::set<int64_t> expect;
  for (int64_t o = 4; o < 8; ++o)
    for (int64_t i = 0; i < 16; ++i) expect.insert(i * 64 + o);
  EXPECT_EQ(as_set(p64.group(1)), expect);
}

TEST(WeightMap, RfGreaterThanNIn) {
  // Dense 4 -> 6, N = 24, RF 8 = 2 n_in: BF 3, multiplier m covers outputs 2m and 2m+1.
  const Model m = dense_model({4, 6});
  const hw::LayerHw h = resolve_one(m, 8);
  EXPECT_EQ(h.block_factor, 3);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t o = 0; o < 6; ++o) {
      const auto s = hw::weight_slot(h, i * 6 + o);
      EXPECT_EQ(s.multiplier, o / 2);
      EXPECT_EQ(s.cycle, (o % 2) * 4 + i);
    }
  EXPECT_EQ(hw::valid_reuse_factors(4, 6, Strategy::Resource),
            (std::vector<int64_t>{1, 2, 4, 8, 12, 24}));
}

TEST(WeightMap, Conv2DIsTransposedToFilterMajorWithChannelsInNIn) {
  // Kernel (KH 2, KW 2, C 3, F 4): n_in = KH*KW*C = 12 (hls4ml's reference estimator
  // forgets C), N = 48.
  const Model m = conv_model(5, 5, 3, 4, 2);
  const hw::LayerHw h = resolve_one(m, 4);
  EXPECT_EQ(h.n_in, 12);
  EXPECT_EQ(h.n_out, 4);
  EXPECT_EQ(h.positions, 16);
  EXPECT_EQ(h.block_factor, 12);
  // Weight (kh 1, kw 0, c 2, f 3): Keras index ((1*2 + 0)*3 + 2)*4 + 3 = 35; tap j = 8,
  // transposed t = 3*12 + 8 = 44 -> multiplier 11, cycle 0.
  const auto s = hw::weight_slot(h, 35);
  EXPECT_EQ(s.transposed, 44);
  EXPECT_EQ(s.multiplier, 11);
  EXPECT_EQ(s.cycle, 0);
  EXPECT_EQ(s.output, 3);
  EXPECT_EQ(s.input, 8);
  // Filter groups are the kernel's last axis.
  const auto filters = structures::make_groups(m.layers[0], h, GroupKind::Neuron);
  ASSERT_EQ(filters.size(), 4u);
  for (int64_t k : filters.group(3)) EXPECT_EQ(k % 4, 3);
}

TEST(WeightMap, ParallelizationFactorMultipliesMultipliers) {
  // 6x6x3 input, 3x3 kernel, 4 filters: 16 output pixels; N = 108.
  const Model m = conv_model(6, 6, 3, 4, 3);
  const hw::LayerHw h1 = resolve_one(m, 3, std::nullopt, 1);
  const hw::LayerHw h4 = resolve_one(m, 3, std::nullopt, 4);
  EXPECT_EQ(h4.block_factor, 36);
  EXPECT_EQ(h4.instances(), 4);
  const auto e1 = hw::estimate_layer(m.layers[0], h1, {}, {hw::BramModel::Packed, false});
  const auto e4 = hw::estimate_layer(m.layers[0], h4, {}, {hw::BramModel::Packed, false});
  EXPECT_EQ(e1.dsp, 36);
  EXPECT_EQ(e4.dsp, 4 * 36);
  // The streamed layer (docs/rtl.md): 36 grid positions, 16 windows each taking a kernel
  // start (RF 3, kernel latency RF + 1); one instance must wait 3 cycles between the windows
  // of a row; four in lockstep start once per row, on its four windows, and the FIFO then
  // offers the four outputs one per cycle (co-simulation matches the model on
  // test_rtl_conv's matrix).
  EXPECT_EQ(e1.latency, 64);
  EXPECT_EQ(e4.latency, 43);
  // The instances in lockstep share one read of one ROM: 36 lanes x 16 bits = 16 BRAM18.
  EXPECT_EQ(e1.bram18, 16);
  EXPECT_EQ(e4.bram18, 16);
  // PF must divide the 16 output pixels.
  EXPECT_THAT(error_of([&] { resolve_one(m, 3, std::nullopt, 3); }),
              HasSubstr("parallelization factor 3 must divide the 16 output positions"));
}

TEST(ReuseFactor, InvalidIsRefusedWithNearestValid) {
  const Model m = dense_model({16, 64});
  EXPECT_THAT(error_of([&] { resolve_one(m, 3); }),
              HasSubstr("layer 'fc1' (n_in 16, n_out 64): reuse factor 3 is invalid for the "
                        "Resource strategy"));
  EXPECT_THAT(error_of([&] { resolve_one(m, 3); }), HasSubstr("nearest valid: 2, 4"));
  // RF > n_in must be a multiple of n_in: 24 -> 16 or 32.
  EXPECT_THAT(error_of([&] { resolve_one(m, 24); }), HasSubstr("nearest valid: 16, 32"));
  EXPECT_THAT(error_of([&] { resolve_one(m, 2000); }), HasSubstr("nearest valid: 1024"));
  EXPECT_THAT(error_of([&] { resolve_one(m, 0); }), HasSubstr("reuse factor must be >= 1"));
  // Latency takes any RF up to N.
  EXPECT_NO_THROW(resolve_one(m, 3, Strategy::Latency));
  // Opt-in: the closest valid RF (the smaller on a tie, as hls4ml), reported; 30 -> 32.
  HardwareDefaults closest;
  closest.closest_valid_rf = true;
  for (const auto& [rf, pick] : {std::pair<int64_t, int64_t>{3, 2}, {30, 32}, {5, 4}}) {
    closest.reuse_factor = rf;
    const auto hwm = hw::resolve_hardware(m, closest);
    EXPECT_EQ(hwm.layers[0].reuse_factor, pick);
    ASSERT_EQ(hwm.adjustments.size(), 1u);
    EXPECT_EQ(hwm.adjustments[0],
              fmt::format("layer 'fc1': reuse factor {} -> {} (closest valid)", rf, pick));
  }
  Model own = m;
  own.layers[0].hardware.reuse_factor = 3;  // a layer's own RF is never changed
  EXPECT_THAT(error_of([&] { hw::resolve_hardware(own, closest); }), HasSubstr("nearest valid"));
  // hls4ml's rules, checked against its formula on many shapes.
  for (int64_t n_in : {1, 3, 4, 16, 25, 64})
    for (int64_t n_out : {1, 5, 8, 32})
      for (int64_t rf = 1; rf <= n_in * n_out; ++rf) {
        const int64_t n = n_in * n_out;
        const int64_t mult = (n + std::min(n_in, rf) - 1) / std::min(n_in, rf);
        const bool expect =
            (mult % n_out == 0 || rf >= n_in) && (rf % n_in == 0 || rf < n_in) && n % rf == 0;
        ASSERT_EQ(hw::is_valid_reuse_factor(n_in, n_out, rf, Strategy::Resource), expect)
            << n_in << "x" << n_out << " RF " << rf;
      }
}

// ---------------------------------------------------------------- estimates

TEST(Estimate, JetMlpDspIsNOverRfAndBramAsTheFormula) {
  Model m = make_builtin_model("jet-mlp", 5, 1);
  m.set_precision(parse_precision("ap_fixed<16,6>"));
  const int64_t sizes[][2] = {{16, 64}, {64, 32}, {32, 32}, {32, 5}};
  const std::pair<int64_t, int64_t> expect_total[] = {{2, 2128}, {4, 1064}, {8, 532}, {16, 266}};
  for (const auto& [rf, total_dsp] : expect_total) {
    SCOPED_TRACE(fmt::format("RF {}", rf));
    HardwareDefaults d;
    d.reuse_factor = rf;
    const auto hwm = hw::resolve_hardware(m, d);
    const auto e = hw::estimate_model(m, hwm, {hw::BramModel::Packed, false});
    ASSERT_EQ(e.layers.size(), 4u);
    int64_t bram = 0;
    for (size_t i = 0; i < 4; ++i) {
      const int64_t n = sizes[i][0] * sizes[i][1];
      EXPECT_EQ(e.layers[i].dsp, n / rf);
      EXPECT_EQ(e.layers[i].multipliers, n / rf);
      const int64_t expect_bram = (n / rf * 16 + 35) / 36;  // ceil(BF * W / 36), depth <= 512
      EXPECT_EQ(e.layers[i].bram18, expect_bram);
      bram += expect_bram;
    }
    EXPECT_EQ(e.total.dsp, total_dsp);
    EXPECT_EQ(e.total.bram18, bram);
    EXPECT_EQ(e.total.parameters, 4256 + 64 + 32 + 32 + 5);
  }
}

TEST(Estimate, NarrowWeightsUseNoDsp) {
  const Model m8 = dense_model({16, 8}, "ap_fixed<8,3>");
  const auto h = resolve_one(m8, 2);
  EXPECT_EQ(h.dsp_per_multiplier({}), 0);
  const auto e = hw::estimate_layer(m8.layers[0], h, {}, {hw::BramModel::Packed, false});
  EXPECT_EQ(e.multipliers, 64);
  EXPECT_EQ(e.dsp, 0);
  EXPECT_EQ(e.bram18, (64 * 8 + 35) / 36);
  hw::Device lower;
  lower.dsp_min_weight_bits = 8;
  EXPECT_EQ(h.dsp_per_multiplier(lower), 1);
}

TEST(Estimate, DspTilingAndBramShapes) {
  Model m = dense_model({16, 8}, "ap_fixed<27,8>");
  m.input_precision = parse_precision("ap_fixed<16,6>");
  const auto h = resolve_one(m, 1);
  EXPECT_EQ(h.dsp_per_multiplier(hw::device_for_family("xc7")), 2);  // 27 > 25 bits
  EXPECT_EQ(h.dsp_per_multiplier(hw::device_for_family("xcu")), 1);  // 27 x 18 fits
  EXPECT_THAT(error_of([] { hw::device_for_family("xc9"); }), HasSubstr("xc7, xcu, xcup"));
  const hw::Device d;
  EXPECT_EQ(hw::bram18_for(2, 16, d), 1);
  EXPECT_EQ(hw::bram18_for(512, 37, d), 2);
  EXPECT_EQ(hw::bram18_for(1024, 36, d), 2);  // 2 x (18 x 1024)
  EXPECT_EQ(hw::bram18_for(1024, 18, d), 1);
  EXPECT_EQ(hw::bram18_for(4096, 4, d), 1);
}

TEST(Estimate, PrunedLanesSaveDspAndPackedBram) {
  Model m = dense_model({16, 64});
  const auto h = resolve_one(m, 2);  // BF 512, 16-bit lanes: 228 BRAM18
  auto patterns = structures::make_groups(m.layers[0], h, GroupKind::Pattern);
  std::vector<uint8_t> keep(patterns.size(), 1);
  for (size_t g = 0; g < 9; ++g) keep[g] = 0;  // lanes 0..8
  structures::apply_selection(m.layers[0], patterns, keep);
  const auto packed = hw::estimate_layer(m.layers[0], h, {}, {hw::BramModel::Packed, true});
  EXPECT_EQ(packed.dsp, 512 - 9);
  EXPECT_EQ(packed.bram18, ((512 - 9) * 16 + 35) / 36);  // 224
  // hls4ml layout: lanes 0..8 are bits 0..143 = columns 0..3 exactly.
  const auto h4 = hw::estimate_layer(m.layers[0], h, {}, {hw::BramModel::Hls4ml, true});
  EXPECT_EQ(h4.bram18, 228 - 4);
  // Pruning every other lane (1, 3, 5, ...) leaves a live lane in every 36-bit column:
  // hls4ml's layout saves nothing, packing saves half.
  Model m2 = dense_model({16, 64});
  std::vector<uint8_t> alternate(patterns.size(), 1);
  for (size_t g = 1; g < patterns.size(); g += 2) alternate[g] = 0;
  structures::apply_selection(m2.layers[0], patterns, alternate);
  EXPECT_EQ(hw::estimate_layer(m2.layers[0], h, {}, {hw::BramModel::Hls4ml, true}).bram18, 228);
  EXPECT_EQ(hw::estimate_layer(m2.layers[0], h, {}, {hw::BramModel::Packed, true}).bram18,
            (256 * 16 + 35) / 36);
  // Unstructured zeros inside a lane save nothing at RF > 1.
  Model m3 = dense_model({16, 64});
  m3.layers[0].mask = Tensor(m3.layers[0].weight("kernel").shape, 1.0f);
  m3.layers[0].mask.data[hw::keras_index(h, 0)] = 0.0f;  // lane 0, cycle 0 only
  EXPECT_EQ(hw::estimate_layer(m3.layers[0], h, {}, {hw::BramModel::Packed, true}).dsp, 512);
}

TEST(Estimate, LatencyStrategyAndUnrolledWordSkipping) {
  Model m = dense_model({16, 8});  // N = 128
  const auto lat = resolve_one(m, 4, Strategy::Latency);
  m.layers[0].mask = Tensor(m.layers[0].weight("kernel").shape, 1.0f);
  for (int64_t k = 0; k < 10; ++k) m.layers[0].mask.data[static_cast<size_t>(k)] = 0.0f;
  auto e = hw::estimate_layer(m.layers[0], lat, {}, {hw::BramModel::Packed, true});
  EXPECT_EQ(e.dsp, (118 + 3) / 4);  // ceil(live / RF)
  EXPECT_EQ(e.bram18, 0);           // Latency keeps weights out of BRAM

  Model u = dense_model({16, 8});
  const auto unrolled = resolve_one(u, 4, Strategy::Unrolled);
  const auto words = structures::make_groups(u.layers[0], unrolled, GroupKind::Cycle);
  ASSERT_EQ(words.size(), 4u);
  EXPECT_EQ(words.group(0).size(), 32u);
  structures::apply_selection(u.layers[0], words, {1, 0, 1, 0});
  e = hw::estimate_layer(u.layers[0], unrolled, {}, {hw::BramModel::Packed, true});
  // Two live words + 1: the generated Dense layer reads the first word on the edge that
  // samples its input and writes its output with the last word's sums.
  EXPECT_EQ(e.latency, 2 + 1);
  EXPECT_EQ(e.dsp, 32);  // every lane still has live weights
  const auto res = resolve_one(u, 4, Strategy::Resource);
  EXPECT_EQ(hw::estimate_layer(u.layers[0], res, {}, {hw::BramModel::Packed, true}).latency, 5);
  // RF 1: one register stage. The Latency strategy at RF > 1 and io_stream are not generated:
  // hls4ml's RF + 2.
  EXPECT_EQ(hw::estimate_layer(u.layers[0], resolve_one(u, 1, Strategy::Latency), {},
                               {hw::BramModel::Packed, true})
                .latency,
            1);
  EXPECT_EQ(hw::estimate_layer(u.layers[0], resolve_one(u, 4, Strategy::Latency), {},
                               {hw::BramModel::Packed, true})
                .latency,
            4 + 2);
  hw::LayerHw stream = res;
  stream.io_type = IoType::Stream;
  EXPECT_EQ(hw::estimate_layer(u.layers[0], stream, {}, {hw::BramModel::Packed, true}).latency,
            4 + 2);
}

TEST(Estimate, FloatPrecisionAndForeignLayersAreErrors) {
  Model m = dense_model({4, 2});
  m.layers[0].precision.weight = std::nullopt;
  EXPECT_THAT(error_of([&] { hw::resolve_hardware(m, {}); }),
              HasSubstr("layer 'fc1': weight precision is float"));
  Model d = dense_model({4, 2});
  d.layers[0].hardware.parallelization_factor = 2;
  EXPECT_THAT(error_of([&] { hw::resolve_hardware(d, {}); }),
              HasSubstr("applies to Conv layers only"));
}

TEST(Estimate, LayerAttributesOverrideDefaultsAndRoundTripThroughTheFile) {
  Model m = dense_model({16, 64, 8});
  m.layers[1].hardware.reuse_factor = 8;
  m.layers[1].hardware.strategy = Strategy::Unrolled;
  m.layers[0].hardware.io_type = IoType::Stream;
  test::ScratchDir dir;
  io::save_model(dir.file("m.hwp"), m);
  const Model back = io::load_model(dir.file("m.hwp"));
  EXPECT_EQ(back.layers[1].hardware, m.layers[1].hardware);
  EXPECT_EQ(back.layers[0].hardware, m.layers[0].hardware);
  HardwareDefaults d;
  d.reuse_factor = 4;
  const auto hwm = hw::resolve_hardware(back, d);
  EXPECT_EQ(hwm.layers[0].reuse_factor, 4);
  EXPECT_EQ(hwm.layers[0].io_type, IoType::Stream);
  EXPECT_EQ(hwm.layers[1].reuse_factor, 8);
  EXPECT_EQ(hwm.layers[1].strategy, Strategy::Unrolled);
  EXPECT_EQ(parse_strategy("resource_unrolled"), Strategy::Unrolled);
  EXPECT_THAT(error_of([] { parse_strategy("fast"); }), HasSubstr("unknown strategy \"fast\""));
}

// ---------------------------------------------------------------- groups

TEST(Groups, EveryKindPartitionsTheKernel) {
  const Model dense = dense_model({16, 64});
  const Model conv = conv_model(6, 6, 3, 4, 3);
  for (const Model* m : {&dense, &conv})
    for (int64_t rf : {1, 2, 3, 4, 12, 16, 27, 54, 64}) {
      const hw::LayerHw h0 = hw::resolve_hardware(*m, {}).layers[0];
      if (!hw::is_valid_reuse_factor(h0.n_in, h0.n_out, rf, Strategy::Resource)) continue;
      const auto h = resolve_one(*m, rf);
      for (GroupKind kind : {GroupKind::Unstructured, GroupKind::Neuron, GroupKind::Pattern,
                             GroupKind::Block, GroupKind::BramColumns, GroupKind::Cycle}) {
        if (kind == GroupKind::Block && m->layers[0].kind != LayerKind::Dense) continue;
        SCOPED_TRACE(fmt::format("{} RF {} {}", m->layers[0].name, rf, to_string(kind)));
        const auto gs = structures::make_groups(m->layers[0], h, kind, {3, 5});
        std::vector<int> seen(static_cast<size_t>(h.n_products), 0);
        for (int64_t k : gs.members) ++seen.at(static_cast<size_t>(k));
        EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
        for (size_t g = 0; g < gs.size(); ++g) EXPECT_FALSE(gs.group(g).empty());
      }
    }
}

TEST(Groups, BramColumnGroupsFillWholeColumns) {
  EXPECT_EQ(structures::bram_group_lanes(16), 9);  // 144 bits = 4 columns
  EXPECT_EQ(structures::bram_group_lanes(9), 4);
  EXPECT_EQ(structures::bram_group_lanes(12), 3);
  EXPECT_EQ(structures::bram_group_lanes(18), 2);
  EXPECT_EQ(structures::bram_group_lanes(24), 3);  // 72 bits
  EXPECT_EQ(structures::bram_group_lanes(36), 1);
  EXPECT_EQ(structures::bram_group_lanes(10), 18);  // 180 bits = 5 columns
  EXPECT_EQ(structures::bram_group_lanes(7), 36);
  // Pruning any one column group of a 10-bit layer frees exactly 5 BRAM18 in hls4ml's
  // layout; the partial last group frees what it covers.
  Model m = dense_model({16, 64}, "ap_fixed<10,4>");
  const auto h = resolve_one(m, 2);  // BF 512 lanes: 28 full groups of 18 + one of 8
  const auto gs = structures::make_groups(m.layers[0], h, GroupKind::BramColumns);
  ASSERT_EQ(gs.size(), 29u);
  const int64_t base = (512 * 10 + 35) / 36;
  for (size_t g : {size_t{0}, size_t{13}, size_t{28}}) {
    Model p = m;
    std::vector<uint8_t> keep(gs.size(), 1);
    keep[g] = 0;
    structures::apply_selection(p.layers[0], gs, keep);
    const auto e = hw::estimate_layer(p.layers[0], h, {}, {hw::BramModel::Hls4ml, true});
    EXPECT_EQ(e.bram18, base - (g == 28 ? (8 * 10 + 35) / 36 : 5)) << "group " << g;
  }
}

TEST(Groups, BlocksAndSelections) {
  Model m = dense_model({5, 4});
  const auto h = resolve_one(m, 1);
  const auto blocks = structures::make_groups(m.layers[0], h, GroupKind::Block, {2, 3});
  ASSERT_EQ(blocks.size(), 6u);  // ceil(5/2) x ceil(4/3)
  EXPECT_EQ(as_set(blocks.group(0)), (std::set<int64_t>{0, 1, 2, 4, 5, 6}));
  EXPECT_EQ(as_set(blocks.group(5)), (std::set<int64_t>{19}));
  std::vector<uint8_t> keep(6, 1);
  keep[0] = 0;
  structures::apply_selection(m.layers[0], blocks, keep);
  EXPECT_EQ(std::count(m.layers[0].mask.data.begin(), m.layers[0].mask.data.end(), 0.0f), 6);
  EXPECT_THAT(error_of([&] {
                structures::apply_selection(m.layers[0], blocks, {1, 1});
              }),
              HasSubstr("selection has 2 entries for 6 groups"));
  const Model c = conv_model(4, 4, 1, 2, 3);
  EXPECT_THAT(
      error_of([&] { structures::make_groups(c.layers[0], resolve_one(c, 1), GroupKind::Block); }),
      HasSubstr("block structures apply to Dense layers only"));
}

// ---------------------------------------------------------------- objectives

// Random selections: the objective's linear model must bound (or equal) what the
// estimator counts for the pruned layer.
TEST(Objectives, CostModelsMatchTheEstimator) {
  std::mt19937_64 rng(5);
  for (const auto& entry : hw::objective_table().entries)
    for (int64_t rf : {1, 2, 16})
      for (Strategy s : {Strategy::Latency, Strategy::Resource, Strategy::Unrolled}) {
        if (rf == 1 && s != Strategy::Latency) continue;
        const std::string name(entry.name);
        SCOPED_TRACE(fmt::format("{} RF {} {}", name, rf, to_string(s)));
        Model m = dense_model({16, 64, 8});
        HardwareDefaults d;
        d.reuse_factor = rf;
        d.strategy = s;
        const auto hwm = hw::resolve_hardware(m, d);
        const auto obj = hw::make_objective(name);
        const size_t dims = obj->dimensions().size();
        for (const auto& h : hwm.layers) {
          Layer& layer = m.layers[h.layer];
          const auto gs = structures::make_groups(layer, h, obj->structure(h));
          const auto costs = obj->group_costs(layer, h, hwm.device, gs);
          ASSERT_EQ(costs.cost.size(), gs.size() * dims);
          const auto dense = obj->resources(layer, h, hwm.device, false);
          std::vector<double> kept_sum = costs.fixed;
          std::vector<uint8_t> keep(gs.size());
          for (size_t g = 0; g < gs.size(); ++g) {
            keep[g] = rng() % 3 != 0;
            for (size_t k = 0; k < dims; ++k) {
              EXPECT_GE(costs.cost[g * dims + k], 0.0);
              if (keep[g]) kept_sum[k] += costs.cost[g * dims + k];
            }
          }
          for (size_t k = 0; k < dims; ++k) EXPECT_GE(costs.fixed[k], 0.0);
          structures::apply_selection(layer, gs, keep);
          const auto after = obj->resources(layer, h, hwm.device, true);
          for (size_t k = 0; k < dims; ++k) {
            EXPECT_LE(after[k], dense[k]);
            // The estimator rounds up where the linear model cannot: one BRAM18 (ceil of
            // packed bits), or one multiplier's worth under Latency (ceil(live / RF)).
            double biggest = 0;
            for (size_t g = 0; g < gs.size(); ++g)
              biggest = std::max(biggest, costs.cost[g * dims + k]);
            const double slack = s == Strategy::Latency ? std::max(1.0, rf * biggest) : 1.0;
            EXPECT_NEAR(after[k], kept_sum[k], slack) << obj->dimensions()[k];
          }
        }
      }
}

TEST(Objectives, StructuresFollowTheHardware) {
  const Model m = dense_model({16, 64});
  const auto dsp = hw::make_objective("dsp");
  EXPECT_EQ(dsp->structure(resolve_one(m, 1)), GroupKind::Unstructured);
  EXPECT_EQ(dsp->structure(resolve_one(m, 2)), GroupKind::Pattern);
  EXPECT_EQ(dsp->structure(resolve_one(m, 4, Strategy::Latency)), GroupKind::Unstructured);
  const auto hls = hw::make_objective("dsp-bram", {hw::BramModel::Hls4ml});
  EXPECT_EQ(hls->structure(resolve_one(m, 2)), GroupKind::BramColumns);
  EXPECT_EQ(hw::make_objective("dsp-bram")->structure(resolve_one(m, 2)), GroupKind::Pattern);
  EXPECT_EQ(hw::make_objective("flops")->structure(resolve_one(m, 2)), GroupKind::Neuron);
  EXPECT_EQ(hw::make_objective("dsp-bram")->dimensions(),
            (std::vector<std::string>{"DSP", "BRAM18"}));
  EXPECT_THAT(error_of([] { hw::make_objective("area"); }),
              HasSubstr("unknown objective \"area\" (known: params, dsp, dsp-bram"));
  // Each pattern of a 16-bit RF-2 layer: one DSP and 16/36 BRAM18.
  const auto h = resolve_one(m, 2);
  const auto gs = structures::make_groups(m.layers[0], h, GroupKind::Pattern);
  const auto c = hw::make_objective("dsp-bram")->group_costs(m.layers[0], h, {}, gs);
  EXPECT_DOUBLE_EQ(c.cost[0], 1.0);
  EXPECT_DOUBLE_EQ(c.cost[1], 16.0 / 36.0);
  EXPECT_NEAR(c.fixed[1], 228 - 512 * 16.0 / 36.0, 1e-9);  // the ceil's slack
}

// A user-defined objective needs only the Objective interface: here, LUT multipliers
// (products of weights narrower than the DSP threshold, charged W * X LUTs each).
class LutMultipliers final : public hw::Objective {
 public:
  std::string name() const override { return "lut-mult"; }
  std::vector<std::string> dimensions() const override { return {"LUT"}; }
  GroupKind structure(const hw::LayerHw& h) const override {
    return h.reuse_factor > 1 ? GroupKind::Pattern : GroupKind::Unstructured;
  }
  std::vector<double> resources(const Layer& layer, const hw::LayerHw& h, const hw::Device& device,
                                bool sparse) const override {
    const auto e = hw::estimate_layer(layer, h, device, {hw::BramModel::Packed, sparse});
    return {h.dsp_per_multiplier(device) == 0 ? static_cast<double>(e.multipliers) * per(h) : 0.0};
  }
  hw::GroupCosts group_costs(const Layer&, const hw::LayerHw& h, const hw::Device& device,
                             const hw::GroupSet& groups) const override {
    hw::GroupCosts c{{0.0}, std::vector<double>(groups.size(), 0.0)};
    if (h.dsp_per_multiplier(device) == 0) std::fill(c.cost.begin(), c.cost.end(), per(h));
    return c;
  }

 private:
  static double per(const hw::LayerHw& h) {
    return static_cast<double>(h.weight.width * h.input.width);
  }
};

TEST(Objectives, UserDefinedObjectiveWorksThroughTheInterface) {
  Model m = dense_model({16, 32, 8}, "ap_fixed<6,2>");
  HardwareDefaults d;
  d.reuse_factor = 4;
  const auto hwm = hw::resolve_hardware(m, d);
  const LutMultipliers obj;
  const auto before = hw::model_resources(obj, m, hwm, false);
  EXPECT_DOUBLE_EQ(before[0], (16 * 32 / 4 + 32 * 8 / 4) * 36.0);
  // Keep the first half of each layer's groups: the LUT count halves.
  for (const auto& h : hwm.layers) {
    const auto gs = structures::make_groups(m.layers[h.layer], h, obj.structure(h));
    std::vector<uint8_t> keep(gs.size(), 0);
    std::fill(keep.begin(), keep.begin() + static_cast<long>(gs.size() / 2), 1);
    structures::apply_selection(m.layers[h.layer], gs, keep);
  }
  EXPECT_DOUBLE_EQ(hw::model_resources(obj, m, hwm, true)[0], before[0] / 2);
  // The built-in DSP objective sees no DSP at all for 6-bit weights.
  EXPECT_DOUBLE_EQ(hw::model_resources(*hw::make_objective("dsp"), m, hwm, false)[0], 0.0);
}

}  // namespace
}  // namespace hwprune
