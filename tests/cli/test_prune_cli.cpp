// hwprune prune end to end on a small CSV: the step table, the JSON rows and per-layer
// resources, the saved (reduced) model, resume, and one-line errors that keep outputs.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hwprune/io/hls_config.hpp"
#include "hwprune/io/model_file.hpp"
#include "hwprune/util/fs.hpp"
#include "support/synthetic.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using test::expect_error;
using test::run_cli;
using test::ScratchDir;
using ::testing::HasSubstr;

TEST(PruneCli, PrunesABuiltinAndReportsTheTableAndJson) {
  ScratchDir dir;
  const std::string csv = test::write_blob_csv(dir, "jets.csv");
  const std::string out = dir.file("pruned.hwp"), json = dir.file("prune.json"),
                    base = dir.file("base.hwp");
  const auto r = run_cli(fmt::format(
      "prune --model jet-mlp --data 'csv:{},label=kind' --rf 2 --objective dsp "
      "--baseline-epochs 6 --lr 0.002 --baseline-lr 0.003 --batch-size 32 --scheduler constant "
      "--step 0.4 --final-sparsity 0.8 --epochs-per-step 2 --rtol 0.9 --threads 1 "
      "--save-baseline '{}' --out '{}' --json '{}'",
      csv, base, out, json));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("step   target"));
  EXPECT_THAT(r.output, HasSubstr("DSP (of base)"));
  EXPECT_THAT(r.output, HasSubstr("test accuracy: unpruned"));
  EXPECT_THAT(r.output, HasSubstr("total"));
  const auto j = nlohmann::json::parse(read_file(json));
  EXPECT_EQ(j["dimensions"], nlohmann::json({"DSP"}));
  ASSERT_GE(j["steps"].size(), 2u);
  EXPECT_EQ(j["steps"][0]["step"], 0);
  const double base_dsp = j["baseline_resources"]["DSP"];
  EXPECT_EQ(base_dsp, (16 * 64 + 64 * 32 + 32 * 32 + 32 * 3) / 2);
  EXPECT_EQ(j["steps"][0]["resources"]["DSP"].get<double>(), base_dsp);  // row 0: unpruned
  EXPECT_EQ(j["config"]["rf"], 2);
  EXPECT_EQ(j["config"]["objective"], "dsp");
  ASSERT_TRUE(j["any_accepted"].get<bool>()) << r.output;
  const double final_dsp = j["total"]["final"]["dsp"];
  EXPECT_LT(final_dsp, base_dsp);
  EXPECT_LE(final_dsp, (1.0 - j["final_sparsity"].get<double>()) * base_dsp + 1e-9);
  EXPECT_EQ(j["layers"]["baseline"].size(), 4u);
  EXPECT_EQ(j["layers"]["final"].size(), 4u);
  for (const auto& row : j["steps"]) {
    EXPECT_TRUE(row.contains("val_metric"));
    EXPECT_TRUE(row.contains("target_sparsity"));
    EXPECT_TRUE(row.contains("seconds"));
  }
  // The saved model remembers the hardware it was pruned for: it estimates to the reported
  // DSPs without --rf, and inspect shows each layer's RF.
  const auto e = run_cli(fmt::format("estimate --model '{}' --json", out));
  ASSERT_EQ(e.exit_code, 0) << e.output;
  EXPECT_TRUE(nlohmann::json::parse(e.output)["rf_adjustments"].empty()) << e.output;
  const auto in = nlohmann::json::parse(run_cli(fmt::format("inspect --json '{}'", out)).output);
  int at_rf2 = 0;
  for (const auto& l : in["layers"]) at_rf2 += l.value("reuse_factor", 0) == 2;
  EXPECT_EQ(at_rf2, 4) << in.dump();  // the four Dense layers
  EXPECT_EQ(nlohmann::json::parse(e.output)["total"]["current"]["dsp"].get<double>(), final_dsp);
  const auto ev =
      run_cli(fmt::format("evaluate --model '{}' --data 'csv:{},label=kind'", out, csv));
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  EXPECT_TRUE(std::filesystem::exists(base));
  EXPECT_FALSE(std::filesystem::exists(out + ".ckpt"));  // removed after success
  // convert and synth build the design it was pruned for without --rf.
  const auto cv = run_cli(fmt::format("convert '{}' '{}'", out, dir.file("p.onnx")));
  ASSERT_EQ(cv.exit_code, 0) << cv.output;
  const io::HlsConfig hls = io::load_hls_config(dir.file("p_onnx_hls4ml.yml"));
  ASSERT_TRUE(hls.layers.count("fc1"));
  EXPECT_EQ(hls.layers.at("fc1").reuse_factor, 2);
  const auto sy =
      run_cli(fmt::format("synth --model '{}' --no-yosys --no-cosim --out '{}' --json '{}'", out,
                          dir.file("syn"), dir.file("syn.json")));
  ASSERT_EQ(sy.exit_code, 0) << sy.output;
  const auto sj = nlohmann::json::parse(read_file(dir.file("syn.json")));
  for (const auto& l : sj["layers"]) EXPECT_EQ(l["reuse_factor"], 2) << l.dump();
}

TEST(PruneCli, BadInputIsAOneLineErrorAndKeepsOutputs) {
  ScratchDir dir;
  const std::string csv = test::write_blob_csv(dir, "ok.csv");
  const std::string out = dir.write("out.hwp", "precious");
  const std::string base = fmt::format(
      "prune --model jet-mlp --data 'csv:{},label=kind' --baseline-epochs 1 --out '{}' ", csv, out);
  expect_error(run_cli(base + "--objective luts"), "unknown objective");
  expect_error(run_cli(base + "--rf 3"), "nearest valid");
  expect_error(run_cli(base + "--scheduler cubic"), "unknown scheduler \"cubic\"");
  expect_error(run_cli(base + "--ranking taylor"), "unknown ranking \"taylor\"");
  expect_error(run_cli(base + "--solver cplex"), "unknown solver \"cplex\" (known: exact, greedy)");
  expect_error(run_cli(base + "--width-granularity weight"),
               "unknown width granularity \"weight\" (known: group, layer)");
  expect_error(run_cli(base + "--width-granularity layer"),
               "width granularity layer applies to joint pruning and precision");
  expect_error(run_cli(base + "--widths 0,4,4 --objective dsp-lut --ranking saliency"), "0,4,4");
  expect_error(run_cli(base + "--rtol 1.5"), "can never pass");
  expect_error(run_cli(base + "--metric loss --rtol 0.9"), "decreasing");
  expect_error(run_cli(base + "--final-sparsity 1.5"), "sparsities must be in [0, 1]");
  expect_error(run_cli(base + "--val-split 0"), "needs validation data");
  expect_error(run_cli(base + "--alpha -1 --reg-epochs 1"), "alpha must be finite and >= 0");
  EXPECT_EQ(read_file(out), "precious");
}

// What a killed run was writing (temporaries of a process that no longer exists) is gone after
// the next run on the same output; nothing is left beside the finished output.
TEST(PruneCli, ANewRunCleansUpTheTemporariesOfAKilledOne) {
  ScratchDir dir;
  const std::string csv = test::write_blob_csv(dir, "jets.csv");
  const pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ASSERT_GT(dead, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(dead, &status, 0), dead);
  for (const char* name : {"p.hwp.tmp-{}-0badf00d", "p.hwp.ckpt.tmp-{}-0badf00d",
                           "p.hwp.ckpt.baseline.tmp-{}-0badf00d", "p.json.tmp-{}-0badf00d"})
    dir.write(fmt::format(fmt::runtime(name), dead), "half written");
  const auto r = run_cli(fmt::format(
      "prune --model jet-mlp --data 'csv:{},label=kind' --rf 2 --baseline-epochs 2 --steps 2 "
      "--epochs-per-step 1 --rtol 0.9 --threads 1 --quiet --out '{}' --json '{}'",
      csv, dir.file("p.hwp"), dir.file("p.json")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(dir.file("")))
    if (e.path().filename().string().find(".tmp-") != std::string::npos ||
        e.path().filename().string().find(".ckpt") != std::string::npos)
      left.push_back(e.path().filename().string());
  std::string names;
  for (const auto& n : left) names += n + " ";
  EXPECT_TRUE(left.empty()) << names;
}

}  // namespace
}  // namespace hwprune
