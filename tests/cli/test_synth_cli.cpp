// hwprune synth end to end on a small pruned Dense network: Verilog written, co-simulation
// with 0 mismatches, Yosys DSP/BRAM18 equal to the estimate, --json, and clear errors.
#include <cstdlib>
#include <filesystem>
#include <random>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hwprune/io/model_file.hpp"
#include "hwprune/util/fs.hpp"
#include "support/models.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using test::expect_error;
using test::run_cli;
using test::ScratchDir;
using ::testing::HasSubstr;
using ::testing::Not;

// 16 -> 8 (ReLU) -> 4, ap_fixed<16,6>, with a few whole multiplier lanes (RF 2: weight pairs
// of one neuron) masked.
std::string write_model(const ScratchDir& dir) {
  Model m;
  m.name = "small";
  m.input_shape = {16};
  Layer a = test::make_layer("a", LayerKind::Dense);
  a.units = 8;
  a.weights = {{"kernel", test::random_tensor({16, 8}, 3)}, {"bias", test::random_tensor({8}, 4)}};
  a.mask = Tensor({16, 8});
  for (int64_t i = 0; i < 16; ++i)
    for (int64_t o = 0; o < 8; ++o) a.mask.data[i * 8 + o] = (o % 3 == 0 && i < 8) ? 0.0f : 1.0f;
  Layer r = test::make_layer("relu", LayerKind::Activation);
  r.activation = ActivationKind::ReLU;
  Layer b = test::make_layer("b", LayerKind::Dense);
  b.units = 4;
  b.weights = {{"kernel", test::random_tensor({8, 4}, 5)}, {"bias", test::random_tensor({4}, 6)}};
  m.layers = {a, r, b};
  m.set_precision(parse_precision("ap_fixed<16,6>"));
  m.infer_shapes();
  const std::string path = dir.file("small.hwp");
  io::save_model(path, m);
  return path;
}

TEST(SynthCli, GeneratesSimulatesAndSynthesises) {
  if (std::system("command -v yosys >/dev/null && command -v verilator >/dev/null") != 0)
    GTEST_SKIP() << "yosys or verilator not installed";
  ScratchDir dir;
  const std::string model = write_model(dir), out = dir.file("synth");
  const std::string json = dir.file("synth.json");
  const auto r = run_cli(fmt::format(
      "synth --model '{}' --rf 2 --samples 300 --out '{}' --json '{}'", model, out, json));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("0 mismatches"));
  const auto j = nlohmann::json::parse(read_file(json));
  EXPECT_EQ(j["cosim"]["samples"], 300);
  EXPECT_EQ(j["cosim"]["mismatches"], 0);
  EXPECT_EQ(j["cosim"]["latency_cycles"], j["latency_cycles"]);
  // RF 2, two layers: 3 cycles each, and the estimate says the same.
  EXPECT_EQ(j["latency_cycles"], 6);
  EXPECT_EQ(j["estimate_total"]["latency_cycles"], j["latency_cycles"]);
  EXPECT_EQ(j["cosim"]["interval_cycles"], 2);
  EXPECT_EQ(j["yosys_total"]["dsp"], j["estimate_total"]["dsp"]);
  EXPECT_EQ(j["yosys_total"]["bram18"], j["estimate_total"]["bram18"]);
  // 16x8 at RF 2: 64 lanes, 12 of them masked (neurons 0, 3, 6 for inputs 0..7); 8x4: 16.
  EXPECT_EQ(j["estimate_total"]["dsp"], 64 - 12 + 16);
  EXPECT_EQ(j["layers"].size(), 2u);
  EXPECT_GT(j["yosys_total"]["lut"].get<int64_t>(), 0);
  // FF is an approximation (registers outside the DSPs and block RAMs): 576 vs Yosys's 587
  // here; counting the product and ROM output registers too gave 4032.
  const double ff_est = j["estimate_total"]["ff"].get<double>();
  const double ff_yosys = j["yosys_total"]["ff"].get<double>();
  EXPECT_NEAR(ff_est / ff_yosys, 1.0, 0.2) << ff_est << " vs " << ff_yosys;
  EXPECT_TRUE(std::filesystem::exists(out + "/hwprune_top.v"));
  EXPECT_TRUE(std::filesystem::exists(out + "/synth.ys"));

  // --dsp-bram-only: the same DSP and BRAM18, no LUT/FF counts (the flow stops earlier).
  const auto fast = run_cli(
      fmt::format("synth --model '{}' --rf 2 --no-cosim --dsp-bram-only --out '{}' --json '{}'",
                  model, out, json));
  ASSERT_EQ(fast.exit_code, 0) << fast.output;
  EXPECT_THAT(fast.output, HasSubstr("no LUT/FF counts"));
  const auto f = nlohmann::json::parse(read_file(json));
  EXPECT_EQ(f["yosys_total"]["dsp"], j["yosys_total"]["dsp"]);
  EXPECT_EQ(f["yosys_total"]["bram18"], j["yosys_total"]["bram18"]);
  EXPECT_FALSE(f["yosys_total"].contains("lut"));
  EXPECT_FALSE(f["layers"][0]["yosys"].contains("ff"));
  EXPECT_THAT(read_file(out + "/synth.ys"), HasSubstr("-run map_dsp:map_memory"));
  EXPECT_THAT(read_file(out + "/synth.ys"), Not(HasSubstr("-run map_ffram:")));
}

// A small CNN (Conv2D 3x3 + ReLU, MaxPool 2x2, Flatten, Dense) at RF 2: the streaming
// Verilog co-simulates with 0 mismatches and Yosys counts the estimated DSP and BRAM18.
TEST(SynthCli, SynthesisesACnn) {
  if (std::system("command -v yosys >/dev/null && command -v verilator >/dev/null") != 0)
    GTEST_SKIP() << "yosys or verilator not installed";
  ScratchDir dir;
  Model m;
  m.name = "tiny-cnn";
  m.input_shape = {8, 8, 2};
  Layer c = test::make_layer("conv", LayerKind::Conv2D);
  c.filters = 4;
  c.kernel_size = {3, 3};
  c.weights = {{"kernel", test::random_tensor({3, 3, 2, 4}, 7)},
               {"bias", test::random_tensor({4}, 8)}};
  Layer r = test::make_layer("relu", LayerKind::Activation);
  r.activation = ActivationKind::ReLU;
  Layer p = test::make_layer("pool", LayerKind::MaxPool2D);
  p.pool_size = {2, 2};
  Layer f = test::make_layer("flat", LayerKind::Flatten);
  Layer d = test::make_layer("out", LayerKind::Dense);
  d.units = 3;
  d.weights = {{"kernel", test::random_tensor({36, 3}, 9)}, {"bias", test::random_tensor({3}, 10)}};
  m.layers = {c, r, p, f, d};
  m.set_precision(parse_precision("ap_fixed<16,6>"));
  m.infer_shapes();
  const std::string model = dir.file("cnn.hwp"), out = dir.file("synth"),
                    json = dir.file("synth.json");
  io::save_model(model, m);
  const auto res = run_cli(fmt::format(
      "synth --model '{}' --rf 2 --samples 200 --out '{}' --json '{}'", model, out, json));
  ASSERT_EQ(res.exit_code, 0) << res.output;
  EXPECT_THAT(res.output, HasSubstr("0 mismatches"));
  const auto j = nlohmann::json::parse(read_file(json));
  EXPECT_EQ(j["cosim"]["mismatches"], 0);
  ASSERT_EQ(j["layers"].size(), 2u);
  EXPECT_EQ(j["layers"][0]["name"], "conv");
  // Conv 18x4 at RF 2: 36 lanes; Dense 36x3 at RF 2: 54. The whole Yosys flow (~30 s).
  EXPECT_EQ(j["estimate_total"]["dsp"], 36 + 54);
  for (const auto& l : j["layers"]) {
    EXPECT_EQ(l["yosys"]["dsp"], l["estimate"]["dsp"]) << l["name"];
    EXPECT_EQ(l["yosys"]["bram18"], l["estimate"]["bram18"]) << l["name"];
    // FF is an approximation (the streamed layer: kernel registers, window taps, output
    // FIFO): 784 vs Yosys's 744 for the Conv, 384 vs 389 for the Dense.
    const double ff_est = l["estimate"]["ff"].get<double>(), ff = l["yosys"]["ff"].get<double>();
    EXPECT_NEAR(ff_est / ff, 1.0, 0.15) << l["name"] << ": " << ff_est << " vs " << ff;
  }
}

TEST(SynthCli, ErrorsAreOneLine) {
  ScratchDir dir;
  const std::string model = write_model(dir), out = dir.file("synth");
  expect_error(run_cli(fmt::format("synth --model '{}' --rf 3 --out '{}'", model, out)),
               "nearest valid");
  expect_error(run_cli(fmt::format("synth --model fmnist-cnn --out '{}'", out)),
               "--model fmnist-cnn: a builtin has no trained weights here");
  // A layer without Verilog (a sigmoid) is named, and nothing is written.
  Model sig = make_builtin_model("mlp:8", 3, 1, {4});
  for (auto& l : sig.layers)
    if (l.kind == LayerKind::Activation && l.activation == ActivationKind::ReLU) {
      l.activation = ActivationKind::Sigmoid;
      break;
    }
  sig.set_precision(parse_precision("ap_fixed<16,6>"));
  const std::string sig_path = dir.file("sig.hwp");
  io::save_model(sig_path, sig);
  expect_error(
      run_cli(fmt::format("synth --model '{}' --rf 1 --no-yosys --out '{}'", sig_path, out)),
      "has no Verilog yet");
  EXPECT_FALSE(std::filesystem::exists(out));
  expect_error(run_cli(fmt::format("synth --model '{}' --rf 2 --samples 0 --out '{}'", model, out)),
               "samples must be >= 1");
  const auto r = test::run_command(fmt::format(
      "HWPRUNE_YOSYS=/nonexistent/yosys '{}' synth --model '{}' --rf 2 --no-cosim --out '{}'",
      HWPRUNE_CLI_PATH, model, out));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("apt-get install yosys"));
}

}  // namespace
}  // namespace hwprune
