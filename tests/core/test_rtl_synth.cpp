// The hardware model against synthesis: the estimator's DSP and BRAM18 equal what Yosys
// (synth_xilinx, xc7) builds from the generated Verilog, on a matrix of small Dense layers
// (16x8 and 32x16 at RF 1, 2, 4, 8, 16 and an RF above n_in; unpruned and with random
// pattern masks; 16-bit and 8-bit weights). All designs go through one Yosys run (a wrapper
// instantiates them) and are reported per layer module.
#include <filesystem>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "hwprune/hw/estimate.hpp"
#include "hwprune/ir/int_model.hpp"
#include "hwprune/rtl/synth.hpp"
#include "hwprune/rtl/verilog.hpp"
#include "hwprune/structures/groups.hpp"
#include "hwprune/util/fs.hpp"
#include "support/masks.hpp"
#include "support/models.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

// 32 -> 16 (ReLU) -> 8, every precision `type` except the weights (`weight`).
Model chain(const std::string& weight, const std::string& type, uint64_t seed) {
  Model m;
  m.name = "chain";
  m.input_shape = {32};
  Layer a = test::make_layer("a", LayerKind::Dense);
  a.units = 16;
  a.weights = {{"kernel", test::random_tensor({32, 16}, seed)},
               {"bias", test::random_tensor({16}, seed + 1)}};
  Layer r = test::make_layer("relu", LayerKind::Activation);
  r.activation = ActivationKind::ReLU;
  Layer b = test::make_layer("b", LayerKind::Dense);
  b.units = 8;
  b.weights = {{"kernel", test::random_tensor({16, 8}, seed + 2)},
               {"bias", test::random_tensor({8}, seed + 3)}};
  m.layers = {a, r, b};
  m.set_precision(parse_precision(type));
  for (auto& l : m.layers)
    if (l.has_kernel()) l.precision.weight = parse_precision(weight);
  m.infer_shapes();
  return m;
}

struct Config {
  int64_t rf;
  bool masked;
  std::string weight;
  std::string top;
  Model model;
  hw::HardwareModel hwm;
  rtl::VerilogDesign design;
};

struct MatrixCase {
  int64_t rf;
  const char* weight;
};

class RtlSynth : public ::testing::TestWithParam<MatrixCase> {};

// One Yosys run per (RF, weight width): the unpruned and the masked design together.
TEST_P(RtlSynth, EstimateEqualsYosysForDspAndBram) {
  if (std::system("command -v yosys >/dev/null 2>&1") != 0) GTEST_SKIP() << "yosys not installed";
  const hw::Device device;  // xc7, 9-bit DSP threshold
  std::vector<Config> configs;
  uint64_t seed = static_cast<uint64_t>(GetParam().rf) * 7;
  {
    const int64_t rf = GetParam().rf;
    const char* weight = GetParam().weight;
    for (bool masked : {false, true}) {
      Config c{rf, masked, weight, fmt::format("d{}", configs.size()), {}, {}, {}};
      c.model = chain(weight, "ap_fixed<16,6>", seed += 10);
      hw::HardwareDefaults d;
      d.reuse_factor = rf;
      c.hwm = hw::resolve_hardware(c.model, d, device);
      if (masked) test::mask_patterns(c.model, c.hwm, seed);
      std::vector<int64_t> rfs;
      for (const auto& h : c.hwm.layers) rfs.push_back(h.reuse_factor);
      rtl::VerilogOptions vo;
      vo.top = c.top;
      c.design = rtl::generate_verilog(make_int_network(c.model, rfs), c.hwm.layers, vo);
      configs.push_back(std::move(c));
    }
  }
  // One file: every design plus a wrapper that drives them from one input and keeps all of
  // their outputs.
  std::string v, ports, body;
  int64_t width = 0, out_bits = 0;
  for (const auto& c : configs) {
    v += c.design.verilog + "\n";
    width = std::max(width, c.design.n_in * c.design.input_width);
    out_bits += c.design.n_out * c.design.output_width;
  }
  int64_t at = 0;
  for (const auto& c : configs) {
    const int64_t w = c.design.n_out * c.design.output_width;
    body += fmt::format(
        "  wire {0}_done, {0}_ready;\n  {0} u_{0} (.clk(clk), .rst(rst), .start(start), "
        ".x(x[{1}:0]), .done({0}_done), .ready({0}_ready), .y(y[{2}:{3}]));\n",
        c.top, c.design.n_in * c.design.input_width - 1, at + w - 1, at);
    at += w;
  }
  v += fmt::format(
      "module matrix (input clk, input rst, input start, input [{}:0] x, output [{}:0] y);\n{}"
      "endmodule\n",
      width - 1, out_bits - 1, body);
  test::ScratchDir dir;
  const std::string path = dir.write("matrix.v", v);
  const rtl::SynthReport rep =
      rtl::synthesize(path, "matrix", device, dir.file("yosys"), rtl::SynthDepth::DspAndBram);

  auto module = [&](const std::string& name) -> const rtl::SynthResources* {
    for (const auto& [n, r] : rep.modules)
      if (n == name || n.ends_with("\\" + name) || n.ends_with(name)) return &r;
    return nullptr;
  };
  int checked = 0;
  for (const auto& c : configs) {
    const auto est = hw::estimate_model(
        c.model, c.hwm, {hw::BramModel::Trimmed, true, /*constants_by_value=*/true});
    for (size_t i = 0; i < est.layers.size(); ++i) {
      const std::string what = fmt::format("{} RF {} {} {} layer {}", c.top, c.rf, c.weight,
                                           c.masked ? "masked" : "dense", est.layers[i].name);
      const rtl::SynthResources* s = module(c.design.layers[i].module);
      ASSERT_NE(s, nullptr) << what;
      EXPECT_EQ(est.layers[i].dsp, s->dsp) << what;
      EXPECT_EQ(est.layers[i].bram18, s->bram18) << what;
      if (c.weight == "ap_fixed<8,3>") {
        EXPECT_EQ(s->dsp, 0) << what;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4);
  RecordProperty("yosys_seconds", std::to_string(rep.seconds));
}

// RF 32 is above n_in of the 16x8 layer (and equal to n_in of the 32x16 one).
INSTANTIATE_TEST_SUITE_P(
    Matrix, RtlSynth,
    ::testing::Values(MatrixCase{1, "ap_fixed<16,6>"}, MatrixCase{1, "ap_fixed<8,3>"},
                      MatrixCase{2, "ap_fixed<16,6>"}, MatrixCase{2, "ap_fixed<8,3>"},
                      MatrixCase{4, "ap_fixed<16,6>"}, MatrixCase{4, "ap_fixed<8,3>"},
                      MatrixCase{8, "ap_fixed<16,6>"}, MatrixCase{8, "ap_fixed<8,3>"},
                      MatrixCase{16, "ap_fixed<16,6>"}, MatrixCase{16, "ap_fixed<8,3>"},
                      MatrixCase{32, "ap_fixed<16,6>"}, MatrixCase{32, "ap_fixed<8,3>"}),
    [](const auto& info) {
      return fmt::format("Rf{}W{}", info.param.rf, info.param.weight[9] == '1' ? 16 : 8);
    });

}  // namespace
}  // namespace hwprune
