// Streaming Conv1D/Conv2D and pooling Verilog against the integer model and the estimator:
// on a matrix of small layers (RF 1, 2, 4 and an RF above n_in, PF 1 and 2, valid and same
// padding, strides, unpruned and pattern-pruned, 16-bit and 8-bit weights, pooling after):
// co-simulation gives 0 mismatches on 1,000 seeded random images (also with a stalling
// input), the measured latency and interval are the hardware model's (hw::stream_timing), and
// Yosys counts exactly the estimated DSP and BRAM18 per layer. See docs/rtl.md.
#include <cstdlib>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/hw/estimate.hpp"
#include "hwprune/hw/map_model.hpp"
#include "hwprune/hw/stream.hpp"
#include "hwprune/ir/int_model.hpp"
#include "hwprune/rtl/synth.hpp"
#include "hwprune/rtl/verilog.hpp"
#include "hwprune/structures/groups.hpp"
#include "support/masks.hpp"
#include "support/models.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

struct ConvCase {
  const char* label;
  int rank;                 // 1: Conv1D, 2: Conv2D
  std::vector<int64_t> in;  // (L, C) or (H, W, C)
  int64_t filters;
  int64_t kernel, stride;
  Padding padding;
  int64_t pool;   // 0: none; > 0: MaxPooling of this size (stride = size) after the ReLU;
                  // < 0: AveragePooling of size -pool
  int64_t dense;  // 0: none; else Flatten + Dense of this many units
  int64_t dense_rf;
  int64_t rf, pf;
  bool masked;
  const char* weight;
};

void PrintTo(const ConvCase& c, std::ostream* os) {
  *os << c.label;
}

Model conv_model(const ConvCase& c, uint64_t seed) {
  Model m;
  m.name = c.label;
  m.input_shape = c.in;
  const int64_t ch = c.in.back();
  Layer conv = test::make_layer("conv", c.rank == 1 ? LayerKind::Conv1D : LayerKind::Conv2D);
  conv.filters = c.filters;
  conv.kernel_size = std::vector<int64_t>(static_cast<size_t>(c.rank), c.kernel);
  conv.strides = std::vector<int64_t>(static_cast<size_t>(c.rank), c.stride);
  conv.padding = c.padding;
  Shape kshape(static_cast<size_t>(c.rank), c.kernel);
  kshape.push_back(ch);
  kshape.push_back(c.filters);
  conv.weights = {{"kernel", test::random_tensor(kshape, seed)},
                  {"bias", test::random_tensor({c.filters}, seed + 1, -0.5f, 0.5f)}};
  Layer relu = test::make_layer("relu", LayerKind::Activation);
  relu.activation = ActivationKind::ReLU;
  m.layers = {conv, relu};
  if (c.pool != 0) {
    const LayerKind kind = c.pool > 0 ? (c.rank == 1 ? LayerKind::MaxPool1D : LayerKind::MaxPool2D)
                                      : (c.rank == 1 ? LayerKind::AvgPool1D : LayerKind::AvgPool2D);
    Layer p = test::make_layer("pool", kind);
    p.pool_size = std::vector<int64_t>(static_cast<size_t>(c.rank), std::abs(c.pool));
    m.layers.push_back(p);
  }
  m.infer_shapes();
  if (c.dense > 0) {
    const Shape& s = m.layers.back().output_shape;
    const int64_t n = std::accumulate(s.begin(), s.end(), int64_t{1}, std::multiplies<>());
    m.layers.push_back(test::make_layer("flat", LayerKind::Flatten));
    Layer d = test::make_layer("dense", LayerKind::Dense);
    d.units = c.dense;
    d.weights = {{"kernel", test::random_tensor({n, c.dense}, seed + 2)},
                 {"bias", test::random_tensor({c.dense}, seed + 3)}};
    d.hardware.reuse_factor = c.dense_rf;
    m.layers.push_back(d);
    m.infer_shapes();
  }
  m.set_precision(parse_precision("ap_fixed<16,6>"));
  for (auto& l : m.layers)
    if (l.has_kernel()) l.precision.weight = parse_precision(c.weight);
  m.layers[0].hardware.parallelization_factor = c.pf;
  // RF 1 layers built with the Resource strategy (what --rf 2 --closest-rf gives a layer whose
  // closest valid RF is 1): still constant multipliers, sized by value.
  if (c.rf == 1 && c.pf == 1) m.layers[0].hardware.strategy = Strategy::Resource;
  return m;
}

struct Built {
  hw::MappedModel mapped;
  IntNetwork net;
  rtl::VerilogDesign design;
};

Built build(const ConvCase& c, uint64_t seed, const std::string& top) {
  Model m = conv_model(c, seed);
  hw::HardwareSpec spec;
  spec.defaults.reuse_factor = c.rf;
  Built b{hw::map_model(m, spec), {}, {}};
  if (c.masked) test::mask_patterns(b.mapped.model, b.mapped.hardware, seed + 5);
  b.net = hw::make_int_network(b.mapped);
  rtl::VerilogOptions vo;
  vo.top = top;
  b.design = rtl::generate_verilog(b.net, b.mapped.hardware.layers, vo);
  return b;
}

std::vector<std::vector<int64_t>> random_images(const IntNetwork& net, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> u(net.input.raw_min(), net.input.raw_max());
  std::vector<std::vector<int64_t>> in(static_cast<size_t>(n));
  for (auto& v : in) {
    v.resize(static_cast<size_t>(net.n_in()));
    for (auto& x : v) x = u(rng);
  }
  return in;
}

const std::vector<ConvCase>& matrix() {
  static const std::vector<ConvCase> cases = {
      {"c2_rf1", 2, {6, 6, 3}, 4, 3, 1, Padding::Valid, 0, 0, 0, 1, 1, false, "ap_fixed<16,6>"},
      {"c2_rf1_pf2_masked",
       2,
       {6, 6, 3},
       4,
       3,
       1,
       Padding::Valid,
       0,
       0,
       0,
       1,
       2,
       true,
       "ap_fixed<16,6>"},
      {"c2_rf2_same_pool",
       2,
       {6, 6, 2},
       4,
       3,
       1,
       Padding::Same,
       2,
       0,
       0,
       2,
       1,
       false,
       "ap_fixed<16,6>"},
      {"c2_rf4_masked_s2",
       2,
       {7, 7, 4},
       4,
       3,
       2,
       Padding::Same,
       0,
       0,
       0,
       4,
       1,
       true,
       "ap_fixed<16,6>"},
      {"c2_rf36_w8_dense",
       2,
       {5, 5, 2},
       4,
       3,
       1,
       Padding::Valid,
       0,
       3,
       2,
       36,
       1,
       true,
       "ap_fixed<8,3>"},
      {"c1_rf1_w8_pool",
       1,
       {12, 3},
       4,
       3,
       1,
       Padding::Valid,
       2,
       0,
       0,
       1,
       1,
       false,
       "ap_fixed<8,3>"},
      {"c1_rf2_same_s2_masked",
       1,
       {11, 2},
       6,
       3,
       2,
       Padding::Same,
       0,
       0,
       0,
       2,
       1,
       true,
       "ap_fixed<16,6>"},
      {"c2_rf1_avgpool_dense",
       2,
       {6, 6, 2},
       4,
       3,
       1,
       Padding::Same,
       -2,
       3,
       1,
       1,
       1,
       false,
       "ap_fixed<16,6>"},
      {"c1_rf2_avgpool3_w8",
       1,
       {12, 2},
       4,
       3,
       1,
       Padding::Valid,
       -3,
       0,
       0,
       2,
       1,
       true,
       "ap_fixed<8,3>"},
      {"c1_rf12_pool_dense",
       1,
       {10, 4},
       4,
       3,
       1,
       Padding::Valid,
       2,
       4,
       4,
       12,
       1,
       false,
       "ap_fixed<16,6>"},
      // PF 2 at RF > 1: the kernel instances run in lockstep on pairs of windows.
      {"c2_rf2_pf2_same_pool",
       2,
       {6, 6, 2},
       4,
       3,
       1,
       Padding::Same,
       2,
       0,
       0,
       2,
       2,
       false,
       "ap_fixed<16,6>"},
      {"c2_rf4_pf2_masked_w8",
       2,
       {6, 6, 4},
       4,
       3,
       1,
       Padding::Valid,
       0,
       0,
       0,
       4,
       2,
       true,
       "ap_fixed<8,3>"},
      {"c1_rf12_pf2_masked_dense",
       1,
       {10, 2},
       4,
       3,
       1,
       Padding::Valid,
       0,
       3,
       2,
       12,
       2,
       true,
       "ap_fixed<16,6>"},
      // PF 4 at RF 2: four outputs per start, two starts in flight: the FIFO's credits bind.
      {"c1_rf2_pf4", 1, {10, 2}, 4, 3, 1, Padding::Valid, 0, 0, 0, 2, 4, false, "ap_fixed<16,6>"},
  };
  return cases;
}

class RtlConv : public ::testing::TestWithParam<ConvCase> {};

TEST_P(RtlConv, CosimulationIsBitExactAndTimedAsModelled) {
  if (std::system("command -v verilator >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "verilator not installed";
  const ConvCase& c = GetParam();
  const Built b = build(c, 11, "conv_top");
  const auto inputs = random_images(b.net, 1000, 3);
  std::vector<std::vector<int64_t>> expected;
  for (const auto& x : inputs) expected.push_back(b.net.run(x));
  test::ScratchDir dir;
  const rtl::CosimResult r = rtl::cosimulate(b.design, inputs, expected, dir.file("cosim"));
  EXPECT_EQ(r.mismatches, 0) << r.first_mismatch;
  EXPECT_EQ(r.samples, 1000);
  EXPECT_EQ(r.warnings, "");
  // The conv layer's modelled figures: hardware model (estimate) == generator.
  const hw::ModelEstimate est = hw::estimate_model(b.mapped.model, b.mapped.hardware, {});
  EXPECT_EQ(est.layers[0].latency, b.design.layers[0].latency) << c.label;
  if (c.pool == 0 && c.dense == 0) {
    // One streaming layer and the output collector (+2 cycles): measured == modelled.
    EXPECT_EQ(r.latency, b.design.layers[0].latency + 2) << c.label;
    EXPECT_EQ(r.interval, b.design.layers[0].interval) << c.label;
  }
  EXPECT_LE(r.latency, b.design.latency) << c.label;
  // The same images with the input withheld in 40% of the cycles.
  const rtl::CosimResult s = rtl::cosimulate(b.design, inputs, expected, dir.file("cosim"), 40);
  EXPECT_EQ(s.mismatches, 0) << s.first_mismatch;
  EXPECT_FALSE(s.rebuilt);
}

INSTANTIATE_TEST_SUITE_P(Matrix, RtlConv, ::testing::ValuesIn(matrix()),
                         [](const auto& info) { return std::string(info.param.label); });

// Every matrix design in one Yosys run (DSP and BRAM18 mapping): per layer (its module with
// everything below it: kernels, lanes, sums) the estimate's DSP and BRAM18 equal Yosys's.
TEST(RtlConvSynth, EstimateEqualsYosysForDspAndBram) {
  if (std::system("command -v yosys >/dev/null 2>&1") != 0) GTEST_SKIP() << "yosys not installed";
  const hw::Device device;
  std::vector<Built> built;
  std::string v, body;
  int64_t xw = 0, yw = 0;
  for (const ConvCase& c : matrix()) {
    built.push_back(build(c, 21, fmt::format("t_{}", c.label)));
    const rtl::VerilogDesign& d = built.back().design;
    v += d.verilog + "\n";
    xw = std::max(xw, d.pixel_values * d.input_width);
    yw += d.n_out * d.output_width;
  }
  int64_t at = 0;
  for (const Built& b : built) {
    const rtl::VerilogDesign& d = b.design;
    const int64_t w = d.n_out * d.output_width;
    body += fmt::format(
        "  wire {0}_done, {0}_ready;\n  {0} u_{0} (.clk(clk), .rst(rst), .start(start), "
        ".x(x[{1}:0]), .done({0}_done), .ready({0}_ready), .y(y[{2}:{3}]));\n",
        d.top, d.pixel_values * d.input_width - 1, at + w - 1, at);
    at += w;
  }
  v += fmt::format(
      "module matrix (input clk, input rst, input start, input [{}:0] x, output [{}:0] y);\n{}"
      "endmodule\n",
      xw - 1, yw - 1, body);
  test::ScratchDir dir;
  const rtl::SynthReport rep = rtl::synthesize(dir.write("matrix.v", v), "matrix", device,
                                               dir.file("yosys"), rtl::SynthDepth::DspAndBram);
  int checked = 0;
  for (const Built& b : built) {
    const auto est =
        hw::estimate_model(b.mapped.model, b.mapped.hardware, {hw::BramModel::Trimmed, true, true});
    for (size_t i = 0; i < est.layers.size(); ++i) {
      const std::string what = fmt::format("{} layer {}", b.design.top, est.layers[i].name);
      const rtl::SynthResources s = rtl::subtree_resources(rep, b.design.layers[i].module);
      EXPECT_EQ(est.layers[i].dsp, s.dsp) << what;
      EXPECT_EQ(est.layers[i].bram18, s.bram18) << what;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 18);
}

}  // namespace
}  // namespace hwprune
