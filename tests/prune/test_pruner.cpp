// The pruning loop: knapsack masks are exactly the chosen groups and stay zero through
// fine-tuning, the loop follows its scheduler, resume after a kill equals an uninterrupted
// run, reduction for the hardware keeps outputs and reuse factors, bad input is refused, rows
// carry the metric's noise, fine-tuning stops with its patience, balanced accuracy.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "hwprune/prune/pipeline.hpp"
#include "hwprune/prune/plan.hpp"
#include "hwprune/util/error.hpp"
#include "support/pipeline_support.hpp"
#include "support/synthetic.hpp"
#include "support/test_support.hpp"

using namespace hwprune;
using namespace hwprune::prune;
using hwprune::test::expect_same_weights;
using hwprune::test::Killer;

namespace {

struct Fixture {
  Model model;
  data::Dataset train, val;
  hw::HardwareSpec hardware;  // RF 2
};

// A jet-mlp (16-64-32-32-4) trained briefly on Gaussian blobs, ap_fixed<16,6>, RF 2.
const Fixture& trained() {
  static const Fixture f = [] {
    Fixture x;
    x.train = test::make_blobs(1200, {16}, 4, 11, 1.2);
    x.val = test::make_blobs(400, {16}, 4, 11, 1.2);
    // Same class means (seed 11), fresh noise for validation.
    auto extra = test::make_blobs(1600, {16}, 4, 11, 1.2);
    for (size_t i = 0; i < x.val.x.data.size(); ++i)
      x.val.x.data[i] = extra.x.data[x.train.x.data.size() + i];
    for (size_t i = 0; i < x.val.labels.size(); ++i)
      x.val.labels[i] = extra.labels[x.train.labels.size() + i];
    x.model = make_builtin_model("jet-mlp", 4, 3);
    x.model.set_precision(parse_precision("ap_fixed<16,6>"));
    train::TrainConfig tc;
    tc.epochs = 8;
    tc.batch_size = 64;
    tc.lr = 3e-3;
    train::Trainer t(x.model, tc);
    t.fit(x.train, nullptr);
    x.hardware.defaults.reuse_factor = 2;
    return x;
  }();
  return f;
}

PruneConfig quick_config() {
  PruneConfig c;
  c.objective = "dsp";
  c.scheduler.kind = SchedulerKind::Constant;
  c.scheduler.final_sparsity = 0.5;
  c.scheduler.step = 0.5;
  c.epochs_per_step = 2;
  c.rtol = 0.01;  // accept (almost) anything
  c.train.batch_size = 64;
  c.train.lr = 1e-3;
  c.train.seed = 5;
  return c;
}

// The pipeline on a trained model and in-memory data: no baseline training, shapes kept (no
// zero-structure removal), nothing saved unless a checkpoint is named.
PipelineResult run(const Model& model, const hw::HardwareSpec& hardware, const Fixture& f,
                   const PruneConfig& loop, PipelineObserver* observer = nullptr,
                   const std::string& checkpoint = "", bool resume = false) {
  data::TrainingInputs in;
  in.file.model = model;
  in.train = f.train;
  in.val = f.val;
  PipelineConfig c;
  c.hardware = hardware;
  c.prune = loop;
  c.reduce = false;
  c.checkpoint = checkpoint;
  c.resume = resume;
  return run_pipeline(std::move(in), c, observer);
}

bool mask_zero(const Layer& l, int64_t idx) {
  return !l.mask.empty() && l.mask.data[idx] == 0.0f;
}

}  // namespace

// The greedy knapsack proves only a bound: the step row says so and carries the gap it proved,
// the same as select_groups reports for the same ranking.
TEST(Pruner, AStepRowCarriesTheKnapsacksProvenGap) {
  const Fixture& f = trained();
  PruneConfig cfg = quick_config();
  cfg.greedy = true;
  const auto objective = hw::make_objective("dsp");
  const structures::Plan plan = prune_plan(f.model, *objective, f.hardware);
  const auto imp = ranked_importance(f.model, plan, Ranking::L2);
  SolveReport proved;
  select_groups(plan, imp, std::vector<uint8_t>(plan.group_count(), 0), 0.5, cfg, &proved);
  ASSERT_FALSE(proved.optimal);
  EXPECT_GT(proved.gap, 0.0);
  EXPECT_LT(proved.gap, 0.5);

  const PipelineResult r = run(f.model, f.hardware, f, cfg);
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_DOUBLE_EQ(r.rows[1].knapsack_gap, proved.gap);
  EXPECT_NE(r.rows[1].action.find(fmt::format("not proven optimal: gap {:.2g}%", 100 * proved.gap)),
            std::string::npos)
      << r.rows[1].action;
  PipelineConfig c;
  c.hardware = f.hardware;
  c.prune = cfg;
  EXPECT_EQ(to_json(r, c).at("steps").at(1).at("knapsack_gap").get<double>(), proved.gap);
}

TEST(Pruner, MasksAreExactlyTheKnapsackChoiceAndStayZero) {
  const Fixture& f = trained();
  const PruneConfig cfg = quick_config();
  const auto objective = hw::make_objective("dsp");
  // What the first step must choose: l2 ranking of the input model, normalised per layer.
  const structures::Plan plan = prune_plan(f.model, *objective, f.hardware);
  const auto imp = ranked_importance(f.model, plan, Ranking::L2);
  const std::vector<uint8_t> none(plan.group_count(), 0);
  SolveReport proved;
  proved.optimal = false;
  proved.gap = 1;
  const auto take = select_groups(plan, imp, none, 0.5, cfg, &proved);
  EXPECT_TRUE(proved.optimal);
  EXPECT_EQ(proved.gap, 0.0);

  const PipelineResult r = run(f.model, f.hardware, f, cfg);
  ASSERT_TRUE(r.any_accepted);
  ASSERT_EQ(r.rows.size(), 2u);  // baseline + one step
  EXPECT_EQ(r.rows[1].knapsack_gap, 0.0);
  EXPECT_EQ(r.rows[1].action.find("not proven"), std::string::npos) << r.rows[1].action;
  size_t i = 0, pruned = 0;
  for (const auto& lp : plan.layers) {
    const Layer& l = r.model.layer(lp.groups.layer_name);
    const Tensor& k = l.weight("kernel");
    for (size_t g = 0; g < lp.groups.size(); ++g, ++i)
      for (int64_t idx : lp.groups.group(g)) {
        if (take[i]) {
          EXPECT_FALSE(mask_zero(l, idx)) << l.name << " group " << g;
        } else {
          ASSERT_TRUE(mask_zero(l, idx)) << l.name << " group " << g;
          ASSERT_EQ(k.data[idx], 0.0f) << l.name << " weight " << idx << " regrew";
          ASSERT_FALSE(std::signbit(k.data[idx]));
          ++pruned;
        }
      }
  }
  EXPECT_GT(pruned, 0u);
  // The budget holds: DSPs of the result <= half the unpruned design.
  ASSERT_EQ(r.dimensions, std::vector<std::string>{"DSP"});
  EXPECT_LE(r.final_resources[0], 0.5 * r.baseline_resources[0] + 1e-9);
  // The weights were fine-tuned (not only masked): some kept weight changed.
  bool changed = false;
  for (const auto& l : r.model.layers)
    if (l.has_kernel()) {
      const auto& a = l.weight("kernel").data;
      const auto& b = f.model.layer(l.name).weight("kernel").data;
      for (size_t j = 0; j < a.size() && !changed; ++j) changed = a[j] != 0 && a[j] != b[j];
    }
  EXPECT_TRUE(changed);
}

TEST(Pruner, DeadNeuronsLoseTheirBiasAndAreRemovedWithIdenticalOutputs) {
  const Fixture& f = trained();
  PruneConfig cfg = quick_config();
  cfg.objective = "flops";  // neuron structure: whole neurons go
  cfg.scheduler.final_sparsity = 0.4;
  cfg.scheduler.step = 0.4;
  const PipelineResult r = run(f.model, f.hardware, f, cfg);
  ASSERT_TRUE(r.any_accepted);
  int dead = 0;
  for (const Layer& l : r.model.layers) {
    if (l.kind != LayerKind::Dense || l.name == "output") continue;
    const int64_t n_in = l.weight("kernel").shape[0], n_out = l.weight("kernel").shape[1];
    for (int64_t o = 0; o < n_out; ++o) {
      bool all = true;
      for (int64_t i = 0; i < n_in; ++i) all = all && mask_zero(l, i * n_out + o);
      if (!all) continue;
      ++dead;
      EXPECT_EQ(l.weight("bias").data[o], 0.0f) << l.name << " neuron " << o;
    }
  }
  // The output layer keeps every neuron (its outputs are the classes).
  EXPECT_TRUE(r.model.layer("output").mask.empty());
  EXPECT_GT(dead, 0);
  const auto objective = hw::make_objective("flops");
  structures::ReduceReport rep;
  const Model small = reduce_for_hardware(r.model, *objective, f.hardware, &rep);
  ASSERT_FALSE(rep.changes.empty());
  EXPECT_LT(small.parameter_count(), r.model.parameter_count());
  const Tensor a = reference_forward(r.model, f.val.x, true);
  const Tensor b = reference_forward(small, f.val.x, true);
  EXPECT_EQ(a.data, b.data);
  // Every RF still valid, and no resource grew.
  EXPECT_NO_THROW(resources_of(small, *objective, f.hardware, true));
  const auto before = resources_of(r.model, *objective, f.hardware, true);
  const auto after = resources_of(small, *objective, f.hardware, true);
  EXPECT_LE(after[0], before[0] + 1e-9);
}

TEST(Pruner, ResumeAfterAKillEqualsTheUninterruptedRun) {
  const Fixture& f = trained();
  test::ScratchDir dir;
  PruneConfig cfg = quick_config();
  cfg.scheduler.kind = SchedulerKind::Polynomial;
  cfg.scheduler.steps = 3;
  cfg.scheduler.final_sparsity = 0.8;
  cfg.epochs_per_step = 1;
  cfg.rtol = 0.9;
  cfg.regularisation.epochs = 1;
  cfg.regularisation.alpha = 1e-4;
  cfg.final_epochs = 1;
  const PipelineResult full = run(f.model, f.hardware, f, cfg, nullptr, dir.file("full.ckpt"));
  ASSERT_GE(full.rows.size(), 3u);
  EXPECT_FALSE(std::filesystem::exists(dir.file("full.ckpt")));  // removed on success

  const std::string ckpt = dir.file("killed.ckpt");
  Killer killer(2);
  EXPECT_THROW(run(f.model, f.hardware, f, cfg, &killer, ckpt), std::runtime_error);
  ASSERT_TRUE(std::filesystem::exists(ckpt));

  // A checkpoint of a different run is refused, naming what differs; nothing is changed.
  PruneConfig other = cfg;
  other.rtol = 0.5;
  const auto e = test::error_of([&] { run(f.model, f.hardware, f, other, nullptr, ckpt, true); });
  EXPECT_NE(e.find("checkpoint of a different run (rtol was 0.9, now 0.5)"), std::string::npos)
      << e;
  ASSERT_TRUE(std::filesystem::exists(ckpt));

  const PipelineResult resumed = run(f.model, f.hardware, f, cfg, nullptr, ckpt, true);
  EXPECT_TRUE(resumed.resumed);
  ASSERT_EQ(resumed.rows.size(), full.rows.size());
  for (size_t i = 0; i < full.rows.size(); ++i) {
    EXPECT_EQ(resumed.rows[i].target, full.rows[i].target) << i;
    EXPECT_EQ(resumed.rows[i].accepted, full.rows[i].accepted) << i;
    EXPECT_EQ(resumed.rows[i].metric, full.rows[i].metric) << i;
  }
  EXPECT_EQ(resumed.final_sparsity, full.final_sparsity);
  expect_same_weights(resumed.model, full.model);
}

TEST(Pruner, TheLoopFollowsItsSchedulerIncludingRepairs) {
  const Fixture& f = trained();
  for (auto kind : {SchedulerKind::Constant, SchedulerKind::Polynomial, SchedulerKind::Binary}) {
    PruneConfig cfg = quick_config();
    cfg.scheduler.kind = kind;
    cfg.scheduler.final_sparsity = 0.97;
    cfg.scheduler.step = 0.3;
    cfg.scheduler.steps = 3;
    cfg.scheduler.min_step = 0.05;
    cfg.epochs_per_step = 1;
    cfg.rtol = 0.97;  // high sparsities fail on this small network: repairs happen
    cfg.max_bad_trials = 3;
    const PipelineResult r = run(f.model, f.hardware, f, cfg);
    // Replaying the verdicts through a fresh scheduler gives the same targets.
    Scheduler s(cfg.scheduler);
    auto next = s.first();
    int bad = 0;
    ASSERT_GE(r.rows.size(), 2u) << to_string(kind);
    for (size_t i = 1; i < r.rows.size(); ++i) {
      ASSERT_TRUE(next) << to_string(kind) << " row " << i;
      EXPECT_DOUBLE_EQ(r.rows[i].target, *next) << to_string(kind) << " row " << i;
      EXPECT_EQ(r.rows[i].accepted, acceptable(r.rows[i].metric, r.baseline_metric, 0.97, true));
      if (r.rows[i].accepted) {
        next = s.accepted(*next, r.rows[i].clearly);
      } else {
        ++bad;
        next = bad >= cfg.max_bad_trials ? std::nullopt : s.rejected(*next);
      }
    }
    EXPECT_FALSE(next) << to_string(kind) << ": the loop stopped early";
    EXPECT_GE(bad, 1) << to_string(kind) << ": no repair was exercised";
    // The result is the last accepted step's model.
    double last = 0;
    for (const auto& row : r.rows)
      if (row.step > 0 && row.accepted) last = row.target;
    EXPECT_EQ(r.final_sparsity, last);
  }
}

TEST(Pruner, LocalKnapsacksBoundEveryLayer) {
  const Fixture& f = trained();
  PruneConfig cfg = quick_config();
  cfg.local = true;
  cfg.ranking = Ranking::Saliency;
  cfg.score_samples = 64;
  cfg.epochs_per_step = 1;
  const PipelineResult r = run(f.model, f.hardware, f, cfg);
  ASSERT_TRUE(r.any_accepted);
  const auto objective = hw::make_objective("dsp");
  const Model fm = fold_batchnorm(r.model);
  const auto hwm = hw::resolve_hardware(fm, f.hardware.defaults, f.hardware.device);
  for (const auto& h : hwm.layers) {
    const Layer& l = fm.layers[h.layer];
    const double dense = objective->resources(l, h, f.hardware.device, false)[0];
    const double now = objective->resources(l, h, f.hardware.device, true)[0];
    EXPECT_LE(now, 0.5 * dense + 1e-9) << h.name;
  }
}

TEST(Pruner, WeightSharingTiesNearlyConstantGroups) {
  const Fixture& f = trained();
  Model m = f.model;
  // Make the first pattern (2 weights of neuron 0 at RF 2) of dense layer 1 nearly equal.
  Layer& l = m.layers.front();
  const int64_t n_out = l.weight("kernel").shape[1];
  l.weight("kernel").data[0] = 0.8f;
  l.weight("kernel").data[n_out] = 0.801f;
  PruneConfig cfg = quick_config();
  cfg.scheduler.final_sparsity = 0.2;
  cfg.scheduler.step = 0.2;
  cfg.regularisation.beta = 1e-3;
  cfg.regularisation.share_tolerance = 0.01;
  const PipelineResult r = run(m, f.hardware, f, cfg);
  ASSERT_TRUE(r.any_accepted);
  const auto& k = r.model.layers.front().weight("kernel").data;
  EXPECT_EQ(k[0], k[n_out]);
  EXPECT_NE(k[0], 0.0f);
}

TEST(Pruner, BadConfigurationsAreErrors) {
  const Fixture& f = trained();
  PruneConfig cfg = quick_config();
  cfg.rtol = 1.01;  // accuracy can never pass
  EXPECT_NE(test::error_of([&] { run(f.model, f.hardware, f, cfg); }).find("can never pass"),
            std::string::npos);
  cfg = quick_config();
  cfg.metric = Metric::MSE;
  EXPECT_NE(test::error_of([&] {
              run(f.model, f.hardware, f, cfg);
            }).find("does not apply to a classifier"),
            std::string::npos);
  cfg = quick_config();
  cfg.metric = Metric::Loss;
  cfg.rtol = 0.99;
  EXPECT_NE(test::error_of([&] { run(f.model, f.hardware, f, cfg); }).find("decreasing"),
            std::string::npos);
  cfg = quick_config();
  cfg.objective = "luts";
  EXPECT_THROW(run(f.model, f.hardware, f, cfg), Error);
  // ff with 16-bit weights: every multiplier is a DSP, so no group frees a flip-flop.
  EXPECT_NE(test::error_of([&] {
              prune_plan(f.model, *hw::make_objective("ff"), f.hardware);
            }).find("objective ff: no weight group frees any FF"),
            std::string::npos);
  Model narrow = f.model;
  for (auto& l : narrow.layers)
    if (l.has_kernel()) l.precision.weight = parse_precision("ap_fixed<8,3>");
  EXPECT_GT(prune_plan(narrow, *hw::make_objective("ff"), f.hardware).group_count(), 0u);
  cfg = quick_config();
  hw::HardwareSpec bad = f.hardware;
  bad.defaults.reuse_factor = 3;  // 16 x 64: 1024 mod 3 != 0
  EXPECT_NE(test::error_of([&] { run(f.model, bad, f, cfg); }).find("nearest valid"),
            std::string::npos);
}

TEST(Pruner, RewindingTrainsUnmaskedBeforeEachRanking) {
  const Fixture& f = trained();
  PruneConfig cfg = quick_config();
  cfg.scheduler.final_sparsity = 0.6;
  cfg.scheduler.step = 0.3;
  cfg.epochs_per_step = 1;
  cfg.rewind_epochs = 1;
  cfg.ranking = Ranking::Oracle;
  cfg.score_samples = 128;
  const PipelineResult r = run(f.model, f.hardware, f, cfg);
  ASSERT_EQ(r.rows.size(), 3u);
  ASSERT_TRUE(r.rows[2].accepted);
  EXPECT_LE(r.final_resources[0], 0.4 * r.baseline_resources[0] + 1e-9);
  for (const auto& l : r.model.layers)
    if (l.has_kernel() && !l.mask.empty())
      for (size_t j = 0; j < l.mask.data.size(); ++j)
        if (l.mask.data[j] == 0.0f) {
          ASSERT_EQ(l.weight("kernel").data[j], 0.0f) << l.name;
        }
  // The rewinding epochs ran: the same run without them ends with other weights.
  PruneConfig plain = cfg;
  plain.rewind_epochs = 0;
  const PipelineResult r0 = run(f.model, f.hardware, f, plain);
  bool differ = false;
  for (const auto& l : r.model.layers)
    if (l.has_kernel())
      differ = differ || l.weight("kernel").data != r0.model.layer(l.name).weight("kernel").data;
  EXPECT_TRUE(differ);
}

// Every row carries its metric's noise: the binomial standard error of the accuracy, and the
// paired standard error of its difference from the baseline on the same rows (smaller than
// the unpaired one: most rows are right or wrong for both models); a clear acceptance is
// beyond the threshold by more than the paired error. Fine-tuning stops when the validation
// metric stops improving.
TEST(Pruner, RowsCarryTheMetricsNoiseAndFineTuningStopsWhenItStopsHelping) {
  const Fixture& f = trained();
  PruneConfig cfg = quick_config();
  cfg.scheduler.kind = SchedulerKind::Polynomial;
  cfg.scheduler.steps = 3;
  cfg.scheduler.final_sparsity = 0.9;
  cfg.rtol = 0.97;
  cfg.epochs_per_step = 12;
  cfg.patience = 1;
  const PipelineResult r = run(f.model, f.hardware, f, cfg);
  ASSERT_GE(r.rows.size(), 3u);
  const double n = static_cast<double>(f.val.size()), p = r.rows[0].metric;
  EXPECT_NEAR(r.rows[0].metric_se, std::sqrt(p * (1 - p) / n), 1e-12);
  EXPECT_EQ(r.rows[0].delta_se, 0.0);
  bool stopped_early = false;
  for (size_t i = 1; i < r.rows.size(); ++i) {
    const StepRow& row = r.rows[i];
    const double q = row.metric;
    EXPECT_NEAR(row.metric_se, std::sqrt(q * (1 - q) / n), 1e-12) << i;
    EXPECT_GT(row.delta_se, 0.0) << i;
    EXPECT_LT(row.delta_se, std::hypot(row.metric_se, r.rows[0].metric_se)) << i;
    const double margin = row.metric - 0.97 * r.baseline_metric;
    EXPECT_EQ(row.clearly, row.accepted && margin > row.delta_se) << i;
    EXPECT_GE(row.epochs, 1) << i;
    EXPECT_LE(row.epochs, 12) << i;
    stopped_early = stopped_early || row.epochs < 12;
  }
  EXPECT_TRUE(stopped_early);
}

// Balanced accuracy: the mean of the per-class recalls over the classes present.
TEST(Pruner, BalancedAccuracyIsTheMeanRecall) {
  const Fixture& f = trained();
  // Drop most of class 0 from validation: overall and balanced accuracy now differ.
  std::vector<int64_t> keep;
  int zeros = 0;
  for (int64_t i = 0; i < f.val.size(); ++i)
    if (f.val.labels[static_cast<size_t>(i)] != 0 || ++zeros <= 10) keep.push_back(i);
  Fixture g = f;
  g.val = f.val.subset(keep);
  PruneConfig cfg = quick_config();
  cfg.metric = Metric::BalancedAccuracy;
  const PipelineResult r = run(g.model, g.hardware, g, cfg);
  EXPECT_EQ(r.metric_name, "balanced-accuracy");
  Model copy = g.model;
  train::Trainer t(copy, train::TrainConfig{});
  const auto m = t.evaluate(g.val);
  double sum = 0;
  int present = 0;
  for (double a : m.per_class_accuracy)
    if (!std::isnan(a)) {
      sum += a;
      ++present;
    }
  EXPECT_NEAR(r.baseline_metric, sum / present, 1e-12);
  EXPECT_NE(r.baseline_metric, m.accuracy);
  // Regression models have no balanced accuracy.
  PruneConfig bad = cfg;
  EXPECT_THROW(validate(bad, Task::Regression), Error);

  // A class floor: every accepted step keeps each class's recall at >= 99% of the baseline's
  // (rtol lets anything else pass), and every step reports its worst class.
  PruneConfig floor = quick_config();
  floor.scheduler.kind = SchedulerKind::Binary;
  floor.scheduler.final_sparsity = 0.95;
  floor.scheduler.min_step = 0.05;
  floor.class_floor = 0.99;
  const PipelineResult fr = run(g.model, g.hardware, g, floor);
  ASSERT_GE(fr.rows.size(), 3u);
  EXPECT_EQ(fr.rows[0].worst_class, 1.0);
  bool refused = false;
  for (size_t i = 1; i < fr.rows.size(); ++i) {
    EXPECT_LE(fr.rows[i].worst_class, 1.0 + 1e-12) << i;
    EXPECT_EQ(fr.rows[i].accepted, fr.rows[i].worst_class >= 0.99) << i;
    refused = refused || !fr.rows[i].accepted;
  }
  EXPECT_TRUE(refused);
  PruneConfig loss = floor;
  loss.metric = Metric::Loss;
  EXPECT_THROW(validate(loss, Task::Classification), Error);
  floor.class_floor = 1.5;
  EXPECT_THROW(validate(floor, Task::Classification), Error);
}

// Results that wrap around a type on the training rows are reported before pruning, and with
// fit_integer_bits their type gets the integer bits the observed range needs.
TEST(Pruner, WrappingResultsAreReportedOrFitted) {
  const Fixture& f = trained();
  Model narrow = f.model;
  narrow.layer("fc1").precision.result = parse_precision("ap_fixed<16,1>");  // [-1, 1)
  struct Messages : PipelineObserver {
    std::vector<std::string> lines;
    void message(const std::string& text) override { lines.push_back(text); }
  };
  auto mentions = [](const Messages& m, const std::string& what) {
    for (const auto& l : m.lines)
      if (l.find(what) != std::string::npos) return true;
    return false;
  };
  PruneConfig cfg = quick_config();
  Messages warned;
  const PipelineResult kept = run(narrow, f.hardware, f, cfg, &warned);
  EXPECT_TRUE(mentions(warned, "results of 'fc1' wrap around on the training rows"));
  EXPECT_TRUE(mentions(warned, "would fit: fc1: result ap_fixed<16,1> -> ap_fixed<16,"));
  EXPECT_EQ(precision_str(kept.model.layer("fc1").precision.result), "ap_fixed<16,1>");

  data::TrainingInputs in;
  in.file.model = narrow;
  in.train = f.train;
  in.val = f.val;
  PipelineConfig c;
  c.hardware = f.hardware;
  c.prune = cfg;
  c.reduce = false;
  c.fit_integer_bits = true;
  Messages fitted;
  const PipelineResult r = run_pipeline(std::move(in), c, &fitted);
  EXPECT_TRUE(mentions(fitted, "fit integer bits: fc1: result ap_fixed<16,1> -> ap_fixed<16,"));
  const auto type = r.model.layer("fc1").precision.result;
  ASSERT_TRUE(type);
  EXPECT_GT(type->integer, 1);
  EXPECT_EQ(type->width, 16);
  // The fitted baseline no longer wraps on the training rows: better than the wrapping one.
  EXPECT_GT(r.baseline_metric, kept.baseline_metric);
}

// The loss metric is the engine's cross-entropy of the logits; its rows give its noise.
TEST(Pruner, LossMetricIsTheEnginesLoss) {
  const Fixture& f = trained();
  PruneConfig cfg = quick_config();
  cfg.metric = Metric::Loss;
  cfg.rtol = 100.0;  // accept anything
  const PipelineResult r = run(f.model, f.hardware, f, cfg);
  Model copy = f.model;
  train::Trainer t(copy, train::TrainConfig{});
  EXPECT_DOUBLE_EQ(r.baseline_metric, t.evaluate(f.val).loss);
  EXPECT_GT(r.rows[0].metric_se, 0.0);
  ASSERT_GE(r.rows.size(), 2u);
  EXPECT_GT(r.rows[1].delta_se, 0.0);
  EXPECT_EQ(r.rows[1].worst_class, 1.0);  // no class recall for a loss
}
