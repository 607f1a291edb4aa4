// hwprune estimate: the jet-mlp's DSP/BRAM18 at RF 2..16, a pruned model's savings, and
// one-line errors for invalid reuse factors and float models.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hwprune/hw/hardware.hpp"
#include "hwprune/io/model_file.hpp"
#include "hwprune/structures/groups.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using test::expect_error;
using test::run_cli;
using test::ScratchDir;
using ::testing::HasSubstr;
using ::testing::Not;

nlohmann::json estimate_json(const std::string& args) {
  const auto r = run_cli("estimate --json " + args);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return nlohmann::json::parse(r.output);
}

TEST(EstimateCli, JetMlpDspAndBramPerReuseFactor) {
  const int64_t n[] = {16 * 64, 64 * 32, 32 * 32, 32 * 5};
  for (const auto& [rf, dsp] : {std::pair{2, 2128}, {4, 1064}, {8, 532}, {16, 266}}) {
    SCOPED_TRACE(fmt::format("RF {}", rf));
    const auto j = estimate_json(fmt::format("--model jet-mlp --rf {}", rf));
    EXPECT_EQ(j["total"]["unpruned"]["dsp"], dsp);
    int64_t bram = 0;
    for (int i = 0; i < 4; ++i) {
      const auto& l = j["layers"][i];
      EXPECT_EQ(l["reuse_factor"], rf);
      EXPECT_EQ(l["strategy"], "Resource");
      EXPECT_EQ(l["unpruned"]["dsp"], n[i] / rf);
      const int64_t b = (n[i] / rf * 16 + 35) / 36;
      EXPECT_EQ(l["unpruned"]["bram18"], b);
      bram += b;
    }
    EXPECT_EQ(j["total"]["unpruned"]["bram18"], bram);
  }
  const auto table = run_cli("estimate --model jet-mlp --rf 4");
  EXPECT_EQ(table.exit_code, 0) << table.output;
  EXPECT_THAT(table.output, HasSubstr("Unpruned design"));
  EXPECT_THAT(table.output, HasSubstr("1064"));
  const auto help = run_cli("estimate --help");
  EXPECT_THAT(help.output, HasSubstr("Examples:"));
}

TEST(EstimateCli, PrunedModelShowsItsSavings) {
  ScratchDir dir;
  Model m = make_builtin_model("jet-mlp", 5, 1);
  m.set_precision(parse_precision("ap_fixed<16,6>"));
  m.layers[0].hardware.reuse_factor = 2;  // recorded for fc1 (as prune records it)
  hw::HardwareDefaults d;
  d.reuse_factor = 2;
  const auto hwm = hw::resolve_hardware(m, d);
  // Prune half of fc1's multipliers (256 of 512 lanes).
  const auto gs = structures::make_groups(m.layers[0], hwm.layers[0], hw::GroupKind::Pattern);
  std::vector<uint8_t> keep(gs.size(), 1);
  for (size_t g = 0; g < gs.size(); g += 2) keep[g] = 0;
  structures::apply_selection(m.layers[0], gs, keep);
  const std::string path = dir.file("pruned.hwp");
  io::save_model(path, m);

  // Without hardware options each layer keeps its own attributes (fc1: RF 2, recorded in the
  // file); the layers without any take RF 1.
  const auto j = estimate_json(fmt::format("--model '{}'", path));
  EXPECT_EQ(j["layers"][0]["reuse_factor"], 2);
  EXPECT_EQ(j["layers"][1]["reuse_factor"], 1);
  EXPECT_EQ(j["layers"][0]["unpruned"]["dsp"], 512);
  EXPECT_EQ(j["layers"][0]["current"]["dsp"], 256);
  EXPECT_EQ(j["layers"][0]["current"]["bram18"], (256 * 16 + 35) / 36);
  EXPECT_LE(j["layers"][0]["current"]["nonzero"].get<int64_t>(), 512);  // biases are 0
  EXPECT_EQ(j["total"]["unpruned"]["dsp"], 512 + 2048 + 1024 + 160);
  // (fc2..output at RF 1 save the few weights that quantize to 0.)
  const auto text = run_cli(fmt::format("estimate --model '{}'", path));
  EXPECT_THAT(text.output,
              HasSubstr("Savings: DSP 3744 -> 3483 (1.07x), BRAM18 228 -> 114 (2.00x)"));
  EXPECT_THAT(text.output, Not(HasSubstr("note:")));
  // --rf applies to every layer, over the model's own, and says so.
  const auto j4 = estimate_json(fmt::format("--model '{}' --rf 4", path));
  EXPECT_EQ(j4["layers"][0]["reuse_factor"], 4);
  EXPECT_EQ(j4["layers"][1]["reuse_factor"], 4);
  EXPECT_EQ(j4["rf_adjustments"][0], "layer 'fc1': reuse factor 2 (the model's) -> 4 (requested)");
  const auto text4 = run_cli(fmt::format("estimate --model '{}' --rf 4", path));
  EXPECT_THAT(text4.output,
              HasSubstr("note: layer 'fc1': reuse factor 2 (the model's) -> 4 (requested)"));
}

TEST(EstimateCli, BadRequestsAreOneLineErrors) {
  expect_error(run_cli("estimate --model jet-mlp --rf 3"),
               "layer 'fc1' (n_in 16, n_out 64): reuse factor 3 is invalid for the Resource "
               "strategy");
  expect_error(run_cli("estimate --model jet-mlp --rf 3"),
               "N mod RF = 1024 mod 3 = 1, must be 0 (hls4ml's rule); nearest valid: 2, 4 "
               "(--closest-rf takes the closest)");
  // The rule that fails is named with its numbers (16x100 at RF 10 passes the first two).
  Model wide = make_builtin_model("mlp:100", 5, 1);
  wide.set_precision(parse_precision("ap_fixed<16,6>"));
  ScratchDir wd;
  io::save_model(wd.file("wide.hwp"), wide);
  expect_error(run_cli(fmt::format("estimate --model '{}' --rf 10", wd.file("wide.hwp"))),
               "ceil(N / min(n_in, RF)) mod n_out = ceil(1600 / 10) mod 100 = 60, must be 0");
  expect_error(run_cli("estimate --model jet-mlp --strategy Fast"), "unknown strategy \"Fast\"");
  expect_error(run_cli("estimate --model jet-mlp --family xc9"), "unknown FPGA family \"xc9\"");
  expect_error(run_cli("estimate --model jet-mlp --bram-model dense"),
               "unknown BRAM model \"dense\"");
  expect_error(run_cli("estimate --model fmnist-cnn --pf 7"),
               "layer 'conv1': parallelization factor 7 must divide the 676 output positions");
  ScratchDir dir;
  Model m = make_builtin_model("jet-mlp", 5, 1);  // float precisions
  io::save_model(dir.file("float.hwp"), m);
  expect_error(run_cli(fmt::format("estimate --model '{}'", dir.file("float.hwp"))),
               "precision is float");
  expect_error(run_cli(fmt::format("estimate --model '{}'", dir.file("none.hwp"))),
               "none.hwp: not a builtin model");
}

}  // namespace
}  // namespace hwprune
