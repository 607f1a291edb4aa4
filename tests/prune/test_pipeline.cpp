// The whole pipeline from a data spec: a builtin trained, pruned and saved in one call; a run
// killed after its baseline or a step resumes to the uninterrupted result; and a checkpoint
// is refused, naming the setting, when any setting that changes the result differs.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <set>

#include <fmt/ranges.h>
#include <gmock/gmock.h>

#include "hwprune/io/model_file.hpp"
#include "hwprune/prune/pipeline.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"
#include "support/pipeline_support.hpp"
#include "support/synthetic.hpp"
#include "support/test_support.hpp"

using namespace hwprune;
using namespace hwprune::prune;
using hwprune::test::expect_same_weights;
using hwprune::test::Killer;

namespace {

// jet-mlp on a 600-row CSV, trained 2 epochs, pruned at RF 2 in two quick steps.
PipelineConfig small_run(const test::ScratchDir& dir) {
  PipelineConfig c;
  c.inputs.source.model = "jet-mlp";
  c.inputs.data = "csv:" + test::write_blob_csv(dir, "blobs.csv") + ",label=kind";
  c.inputs.test_split = 0.2;
  c.hardware.defaults.overrides.reuse_factor = 2;
  c.hardware.defaults.reuse_factor = 2;
  c.baseline.epochs = 2;
  c.baseline.lr = 3e-3;
  c.prune.objective = "dsp";
  c.prune.scheduler.kind = SchedulerKind::Constant;
  c.prune.scheduler.step = 0.25;
  c.prune.scheduler.final_sparsity = 0.5;
  c.prune.epochs_per_step = 1;
  c.prune.rtol = 0.01;
  c.prune.train.batch_size = 32;
  c.prune.train.threads = 1;
  c.out = dir.file("pruned.hwp");
  return c;
}

}  // namespace

TEST(Pipeline, TrainsPrunesAndSavesABuiltinFromADataSpec) {
  test::ScratchDir dir;
  const PipelineConfig c = small_run(dir);
  const PipelineResult r = run_pipeline(c);
  ASSERT_TRUE(r.any_accepted);
  ASSERT_TRUE(r.test_baseline && r.test_final);
  EXPECT_EQ(r.test_final->samples, 120);
  EXPECT_LE(r.final_resources[0], 0.5 * r.baseline_resources[0] + 1e-9);
  // The saved model is the result, with the hardware it was pruned for.
  const Model saved = io::load_model(c.out);
  expect_same_weights(saved, r.model);
  EXPECT_EQ(saved.layer("fc1").hardware.reuse_factor, 2);
  EXPECT_FALSE(saved.layer("fc1").hardware.strategy);  // follows from the RF
  EXPECT_FALSE(std::filesystem::exists(c.out + ".ckpt"));
  EXPECT_FALSE(std::filesystem::exists(c.out + ".ckpt.baseline"));
  // Its JSON names the configuration and every row.
  const auto j = to_json(r, c);
  EXPECT_EQ(j["config"]["rf"], 2);
  EXPECT_EQ(j["steps"].size(), r.rows.size());
  EXPECT_EQ(j["test"]["pruned"]["samples"], 120);
}

static void expect_resumes_to_the_uninterrupted_result(const PipelineConfig& c) {
  const PipelineResult full = run_pipeline(c);
  for (int kill_at : {-1, 1}) {  // after the baseline, after the first step
    SCOPED_TRACE(kill_at);
    Killer killer(kill_at);
    EXPECT_THROW(run_pipeline(c, &killer), std::runtime_error);
    PipelineConfig resume = c;
    resume.resume = true;
    const PipelineResult r = run_pipeline(resume);
    EXPECT_TRUE(r.resumed);
    ASSERT_EQ(r.rows.size(), full.rows.size());
    for (size_t i = 0; i < r.rows.size(); ++i) EXPECT_EQ(r.rows[i].metric, full.rows[i].metric);
    expect_same_weights(r.model, full.model);
    expect_same_weights(r.baseline, full.baseline);
  }
}

TEST(Pipeline, AKilledRunResumesToTheUninterruptedResult) {
  test::ScratchDir dir;
  expect_resumes_to_the_uninterrupted_result(small_run(dir));
}

// With distillation the teacher's outputs are made again from the resumed baseline.
TEST(Pipeline, ADistilledRunResumesToTheUninterruptedResultAndDiffers) {
  test::ScratchDir dir;
  PipelineConfig c = small_run(dir);
  c.prune.train.distill_weight = 0.5;
  c.prune.train.distill_temperature = 2;
  expect_resumes_to_the_uninterrupted_result(c);
  PipelineConfig plain = small_run(dir);
  plain.out = dir.file("plain.hwp");
  c.out = dir.file("distilled.hwp");
  const PipelineResult a = run_pipeline(plain), b = run_pipeline(c);
  expect_same_weights(a.baseline, b.baseline);  // the teacher is the same baseline
  EXPECT_NE(a.model.layer("fc1").weight("kernel"), b.model.layer("fc1").weight("kernel"));
}

// Joint pruning and precision: groups pruned or narrowed to LUT multipliers under the DSP
// target and the LUT budget, the widths kept exactly through fine-tuning and saved, and a
// killed run resumes to the same widths.
// small_run in joint mode: dsp-lut, saliency, widths 0,4,6,8,16.
PipelineConfig joint_run(const test::ScratchDir& dir) {
  PipelineConfig c = small_run(dir);
  c.prune.objective = "dsp-lut";
  c.prune.ranking = Ranking::Saliency;
  c.prune.score_samples = 128;
  c.prune.widths = {0, 4, 6, 8, 16};
  return c;
}

TEST(Pipeline, JointWidthsMeetTheBudgetsAndResumeIdentically) {
  test::ScratchDir dir;
  PipelineConfig c = joint_run(dir);
  c.prune.scheduler.final_sparsity = 0.75;
  expect_resumes_to_the_uninterrupted_result(c);
  const PipelineResult r = run_pipeline(c);
  ASSERT_TRUE(r.any_accepted);
  ASSERT_EQ(r.baseline_resources.size(), 2u);  // DSP, LUT
  EXPECT_EQ(r.baseline_resources[1], 0);       // 16-bit weights: DSPs only
  EXPECT_LE(r.final_resources[0], (1 - r.final_sparsity) * r.baseline_resources[0] + 1e-9);
  const Model saved = io::load_model(c.out);
  expect_same_weights(saved, r.model);
  // The weight integer bits were fitted to the weights before narrowing (builtin: 6).
  EXPECT_LT(saved.layer("fc1").precision.weight->integer, 6);
  std::map<int, int64_t> histogram;
  for (const Layer& l : saved.layers) {
    if (!l.has_kernel()) continue;
    ASSERT_FALSE(l.widths.empty()) << l.name;
    const Tensor k = effective_kernel(l, true);
    for (size_t i = 0; i < k.data.size(); ++i) {
      const int b = static_cast<int>(l.widths.data[i]);
      ++histogram[l.mask.data[i] == 0 ? 0 : b];
      // On its width's grid (ap_fixed<b,I>: steps of 2^(I-b)).
      const int integer = l.precision.weight->integer;
      EXPECT_EQ(std::fmod(static_cast<double>(k.data[i]), std::ldexp(1.0, integer - b)), 0.0)
          << l.name << " " << i;
    }
  }
  EXPECT_GT(histogram[0], 0);                                // pruned
  EXPECT_GT(histogram[4] + histogram[6] + histogram[8], 0);  // LUT multipliers
  EXPECT_GT(histogram[16], 0);                               // DSPs
  EXPECT_GT(r.final_resources[1], 0);
  const auto j = to_json(r, c);
  EXPECT_EQ(j["config"]["widths"], nlohmann::json({0, 4, 6, 8, 16}));
  // Resuming with other widths is refused by name.
  {
    Killer killer(1);
    EXPECT_THROW(run_pipeline(c, &killer), std::runtime_error);
    PipelineConfig other = c;
    other.resume = true;
    other.prune.widths = {0, 8, 16};
    try {
      run_pipeline(other);
      ADD_FAILURE() << "resumed with other widths";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("widths was [0,4,6,8,16]"), std::string::npos)
          << e.what();
    }
  }
  // Widths need the dsp-lut objective and the saliency ranking.
  PipelineConfig bad = c;
  bad.prune.objective = "dsp";
  EXPECT_THROW(run_pipeline(bad), Error);
  bad = c;
  bad.prune.ranking = Ranking::L2;
  EXPECT_THROW(run_pipeline(bad), Error);
  bad = c;
  bad.prune.objective = "lut-eq";
  bad.prune.lut_budget = 1000;  // a budget of dsp-lut's LUT dimension
  EXPECT_THROW(run_pipeline(bad), Error);

  // One number (lut-eq): LUTs + 173 per DSP under the target, whatever mix of DSPs and LUT
  // multipliers meets it.
  PipelineConfig eq = c;
  eq.prune.objective = "lut-eq";
  eq.out = dir.file("eq.hwp");
  const PipelineResult e = run_pipeline(eq);
  ASSERT_TRUE(e.any_accepted);
  ASSERT_EQ(e.baseline_resources.size(), 1u);
  EXPECT_LE(e.final_resources[0], (1 - e.final_sparsity) * e.baseline_resources[0] + 1e-6);
  EXPECT_EQ(to_json(e, eq)["config"]["lut_per_dsp"], 173.0);
}

// The layer granularity (what hls4ml expresses): every layer's live weights share one width,
// groups are still pruned one by one, the budgets hold, and resuming gives the same model.
TEST(Pipeline, LayerGranularityGivesEveryLayerOneWidth) {
  test::ScratchDir dir;
  PipelineConfig c = joint_run(dir);
  c.prune.width_granularity = WidthGranularity::Layer;
  c.prune.scheduler.final_sparsity = 0.75;
  expect_resumes_to_the_uninterrupted_result(c);
  const PipelineResult r = run_pipeline(c);
  ASSERT_TRUE(r.any_accepted);
  EXPECT_LE(r.final_resources[0], (1 - r.final_sparsity) * r.baseline_resources[0] + 1e-9);
  const Model saved = io::load_model(c.out);
  std::set<int> all;
  int64_t pruned = 0;
  for (const Layer& l : saved.layers) {
    if (!l.has_kernel()) continue;
    ASSERT_FALSE(l.widths.empty()) << l.name;
    std::set<int> live;
    for (size_t i = 0; i < l.widths.data.size(); ++i) {
      if (l.mask.data[i] == 0) {
        ++pruned;
        continue;
      }
      live.insert(static_cast<int>(l.widths.data[i]));
    }
    EXPECT_LE(live.size(), 1u) << l.name;
    all.insert(live.begin(), live.end());
  }
  EXPECT_GT(pruned, 0);
  EXPECT_TRUE(all.count(4) + all.count(6) + all.count(8) > 0)  // a layer on LUT multipliers
      << fmt::format("{}", fmt::join(all, ","));
  EXPECT_EQ(to_json(r, c)["config"]["width_granularity"], "layer");
  // The granularity is a setting of joint mode.
  PipelineConfig bad = c;
  bad.prune.widths.clear();
  bad.prune.objective = "dsp";
  EXPECT_THAT(test::error_of([&] { run_pipeline(bad); }),
              ::testing::HasSubstr("width granularity layer applies to joint pruning"));
}

// Every setting that changes the result is refused on resume, by its name. The baseline
// checkpoint is checked as strictly as the loop's.
TEST(Pipeline, ResumeRefusesAnyChangedSettingNamingIt) {
  test::ScratchDir dir;
  const PipelineConfig c = small_run(dir);
  // The same rows with one value changed.
  const std::string blobs = dir.file("blobs.csv");
  std::string text = read_file(blobs);
  const size_t first = text.find('\n') + 1;
  text.replace(first, text.find(',', first) - first, "9.5");
  const std::string other_csv = dir.write("other.csv", text);
  struct Change {
    const char* name;
    std::function<void(PipelineConfig&)> apply;
  };
  const std::vector<Change> changes = {
      {"family", [](PipelineConfig& x) { x.hardware.device = hw::device_for_family("xcu"); }},
      {"dsp_threshold", [](PipelineConfig& x) { x.hardware.device.dsp_min_weight_bits = 12; }},
      {"strategy",
       [](PipelineConfig& x) { x.hardware.defaults.overrides.strategy = Strategy::Unrolled; }},
      {"rf", [](PipelineConfig& x) { x.hardware.defaults.overrides.reuse_factor = 4; }},
      {"precision", [](PipelineConfig& x) { x.inputs.precision = "ap_fixed<12,4>"; }},
      {"baseline_epochs", [](PipelineConfig& x) { x.baseline.epochs = 3; }},
      {"seed", [](PipelineConfig& x) { x.prune.train.seed = 4; }},
      {"split_seed", [](PipelineConfig& x) { x.inputs.seed = 4; }},
      {"objective", [](PipelineConfig& x) { x.prune.objective = "params"; }},
      {"data", [&](PipelineConfig& x) { x.inputs.data = "csv:" + other_csv + ",label=kind"; }},
      {"lr", [](PipelineConfig& x) { x.prune.train.lr = 0.01; }},
      {"distill", [](PipelineConfig& x) { x.prune.train.distill_weight = 0.3; }},
      {"final_sparsity", [](PipelineConfig& x) { x.prune.scheduler.final_sparsity = 0.75; }},
  };
  for (int kill_at : {-1, 1}) {
    Killer killer(kill_at);
    EXPECT_THROW(run_pipeline(c, &killer), std::runtime_error);
    const std::string ckpt = kill_at == -1 ? c.out + ".ckpt.baseline" : c.out + ".ckpt";
    ASSERT_TRUE(std::filesystem::exists(ckpt));
    for (const auto& change : changes) {
      SCOPED_TRACE(fmt::format("{} (killed at {})", change.name, kill_at));
      PipelineConfig x = c;
      x.resume = true;
      change.apply(x);
      const std::string e = test::error_of([&] { run_pipeline(x); });
      EXPECT_NE(e.find("checkpoint of a different run (" + std::string(change.name) + " was "),
                std::string::npos)
          << e;
      EXPECT_TRUE(std::filesystem::exists(ckpt));  // a refused resume changes nothing
    }
  }
  // The same spec with other contents: the data's digest differs.
  PipelineConfig x = c;
  x.resume = true;
  std::filesystem::copy_file(other_csv, blobs, std::filesystem::copy_options::overwrite_existing);
  const std::string e = test::error_of([&] { run_pipeline(x); });
  EXPECT_NE(e.find("rows differ"), std::string::npos) << e;
}
