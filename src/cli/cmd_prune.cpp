// hwprune prune: the pruning pipeline (prune::run_pipeline) with its options, a live step
// table, and the before/after resource table and test figures of the result.
#include <cmath>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.hpp"
#include "common.hpp"
#include "hwprune/hw/widths.hpp"
#include "hwprune/prune/pipeline.hpp"
#include "hwprune/util/fs.hpp"
#include "progress.hpp"

namespace hwprune::cli {

namespace {

struct PruneArgs {
  TrainingArgs data;
  HardwareArgs hw;
  prune::PipelineConfig cfg;
  std::string json_out, report_out;
  std::string objective = "dsp", scheduler = "polynomial", ranking = "l2", solver = "exact",
              metric = "auto", optimizer = "adam", schedule = "cosine",
              baseline_schedule = "cosine", width_granularity = "group";
  std::string widths;  // joint pruning and precision, e.g. "0,4,6,8,16"
  std::optional<double> alpha;
  bool no_reduce = false, keep_dead_biases = false, no_reg_fine_tune = false, quiet = false;
};

std::string pct(double v) {
  return fmt::format("{:.2f}%", 100.0 * v);
}

bool is_share(const std::string& metric) {
  return metric == "accuracy" || metric == "balanced-accuracy";
}

std::string metric_str(double v, const std::string& metric) {
  return is_share(metric) ? pct(v) : fmt::format("{:.5g}", v);
}

// The metric's noise: "±" its standard error (percentage points for a share).
std::string se_str(double se, const std::string& metric) {
  return is_share(metric) ? fmt::format("±{:.2f}", 100.0 * se) : fmt::format("±{:.2g}", se);
}

// Prints the search and step rows as the run goes (stdout, or stderr when JSON owns stdout).
class TableObserver : public prune::PipelineObserver {
 public:
  TableObserver(FILE* out, std::string metric, bool classification, bool quiet)
      : out_(out), metric_(std::move(metric)), progress_(classification, quiet) {}

  void message(const std::string& text) override {
    fmt::print(out_, "{}\n", text);
    std::fflush(out_);
  }
  void planned(const std::vector<std::string>& dims, const std::vector<double>& baseline) override {
    dims_ = dims;
    baseline_ = baseline;
  }
  void search_row(const prune::SearchRow& r) override {
    if (!header_search_)
      fmt::print(out_,
                 "regularisation strength search (score: validation {} within rtol, then "
                 "least group-norm mass dropped at the final sparsity):\n",
                 metric_);
    header_search_ = true;
    fmt::print(out_, "  alpha {:<8g} val {} {:>8}  {}  mass dropped {:.2f}%\n", r.alpha, metric_,
               metric_str(r.metric, metric_), r.acceptable ? "ok     " : "too low",
               100 * r.lost_mass);
    std::fflush(out_);
  }
  void step_row(const prune::StepRow& r) override {
    if (!header_steps_) {
      std::string h = fmt::format("{:>4}  {:>7}", "step", "target");
      for (const auto& d : dims_) h += fmt::format("  {:>17}", d + " (of base)");
      h += fmt::format("  {:>9}  {:>7}  {:>7}  {:>6}  {:>7}  {}",
                       metric_ == "accuracy" ? "val acc" : "val " + metric_, "se", "vs base",
                       "epochs", "time", "result");
      fmt::print(out_, "{}\n", h);
      header_steps_ = true;
    }
    std::string line = fmt::format("{:>4}  {:>7.4f}", r.step, r.target);
    for (size_t k = 0; k < dims_.size(); ++k)
      line +=
          fmt::format("  {:>17}", fmt::format("{:g}/{:g}", std::round(r.resources[k] * 100) / 100,
                                              std::round(baseline_[k] * 100) / 100));
    line +=
        fmt::format("  {:>9}  {:>7}  {:>7}  {:>6}  {:>6.1f}s  {}", metric_str(r.metric, metric_),
                    se_str(r.metric_se, metric_), r.delta_se > 0 ? se_str(r.delta_se, metric_) : "",
                    r.epochs, r.seconds, r.action);
    fmt::print(out_, "{}\n", line);
    std::fflush(out_);
  }
  train::ProgressSink* progress() override { return &progress_; }

 private:
  FILE* out_;
  std::vector<std::string> dims_;
  std::string metric_;
  TerminalProgress progress_;
  std::vector<double> baseline_;
  bool header_search_ = false, header_steps_ = false;
};

std::string change(int64_t before, int64_t after) {
  if (before == after) return std::to_string(before);
  if (after == 0) return fmt::format("{} -> 0", before);
  return fmt::format("{} -> {} ({:.1f}x)", before, after,
                     static_cast<double>(before) / static_cast<double>(after));
}

// Per-layer estimate of the unpruned baseline and of the final model, side by side.
std::string resource_table(const hw::ModelEstimate& before, const hw::ModelEstimate& after) {
  std::vector<std::vector<std::string>> rows{
      {"layer", "RF", "DSP", "BRAM18", "LUT (mult)", "multipliers", "non-zero params", "cycles"}};
  auto luts = [](int64_t v) { return v < 0 ? std::string("?") : std::to_string(v); };
  auto row = [&](const hw::LayerEstimate& b, const hw::LayerEstimate* a) {
    if (!a)
      return std::vector<std::string>{
          b.name, std::to_string(b.reuse_factor), "removed", "", "", "", "", ""};
    return std::vector<std::string>{
        b.name,
        b.reuse_factor == a->reuse_factor ? std::to_string(b.reuse_factor)
                                          : fmt::format("{}->{}", b.reuse_factor, a->reuse_factor),
        change(b.dsp, a->dsp),
        change(b.bram18, a->bram18),
        b.lut_multipliers == a->lut_multipliers
            ? luts(b.lut_multipliers)
            : luts(b.lut_multipliers) + " -> " + luts(a->lut_multipliers),
        change(b.multipliers, a->multipliers),
        change(b.parameters, a->nonzero),
        change(b.latency, a->latency)};
  };
  for (const auto& b : before.layers) {
    const hw::LayerEstimate* a = nullptr;
    for (const auto& x : after.layers)
      if (x.name == b.name) a = &x;
    rows.push_back(row(b, a));
  }
  rows.push_back(row(before.total, &after.total));
  rows.back()[0] = "total";
  rows.back()[1] = "";
  return format_table(rows);
}

// "test accuracy: unpruned 93.77%, pruned 93.53% (-0.24 pp; 4000 samples, ...)"
std::string test_summary(const prune::PipelineResult& r) {
  if (!r.test_baseline || !r.test_final) return "";
  const data::Metrics &b = *r.test_baseline, &f = *r.test_final;
  if (r.model.task == Task::Regression)
    return fmt::format("test mse: unpruned {:.6g}, pruned {:.6g} ({} samples, {})\n", b.mse, f.mse,
                       f.samples, r.test_origin);
  return fmt::format("test accuracy: unpruned {}, pruned {} ({:+.2f} pp; {} samples, {})\n",
                     pct(b.accuracy), pct(f.accuracy), 100 * (f.accuracy - b.accuracy), f.samples,
                     r.test_origin);
}

// The options, translated into the pipeline's configuration.
prune::PipelineConfig pipeline_config(PruneArgs& a) {
  prune::PipelineConfig c = a.cfg;
  prune::PruneConfig& p = c.prune;
  c.inputs = training_spec(a.data, p.train.seed);
  c.inputs.source = a.cfg.inputs.source;
  c.hardware = hardware_spec(a.hw);
  p.objective = a.objective;
  p.objective_options.bram = hw::parse_bram_model(a.hw.bram);
  p.scheduler.kind = prune::parse_scheduler(a.scheduler);
  p.ranking = prune::parse_ranking(a.ranking);
  if (!a.widths.empty()) p.widths = hw::parse_widths(a.widths);
  p.width_granularity = prune::kWidthGranularityNames.parse(a.width_granularity);
  p.metric = prune::parse_metric(a.metric);
  p.greedy = prune::kSolverNames.parse(a.solver);
  p.train.optimizer = train::parse_optimizer(a.optimizer);
  p.train.schedule = train::parse_schedule(a.schedule);
  p.regularisation.alpha = a.alpha;
  p.regularisation.during_fine_tuning = !a.no_reg_fine_tune;
  p.zero_dead_channels = !a.keep_dead_biases;
  c.baseline.schedule = train::parse_schedule(a.baseline_schedule);
  c.reduce = !a.no_reduce;
  return c;
}

void run_prune(PruneArgs& a) {
  FILE* human = human_stream(a.json_out);
  declare_output(a.report_out, "--report");
  const prune::PipelineConfig config = pipeline_config(a);
  data::TrainingInputs inputs = data::prepare_training(config.inputs);
  const Model& model = inputs.file.model;
  const bool classification = model.task == Task::Classification;
  const prune::Metric metric = prune::validate(config.prune, model.task);
  fmt::print(human,
             "pruning '{}' for {} (objective {}, {} scheduler to sparsity {:g}, rtol {:g}, ranking "
             "{}, {} knapsack{})\n",
             model.name, config.hardware.device.family, config.prune.objective, a.scheduler,
             config.prune.scheduler.final_sparsity, prune::resolved_rtol(config.prune, metric),
             a.ranking, config.prune.local ? "local" : "global",
             config.prune.greedy ? " greedy" : "");
  std::fflush(human);
  TableObserver obs(human, std::string(prune::to_string(metric)), classification, a.quiet);
  const prune::PipelineResult r = prune::run_pipeline(std::move(inputs), config, &obs);

  fmt::print(human, "\n{}\n{}",
             r.any_accepted ? fmt::format("accepted sparsity {:.4f} (val {} {}, unpruned {})",
                                          r.final_sparsity, r.metric_name,
                                          metric_str(r.final_metric, r.metric_name),
                                          metric_str(r.baseline_metric, r.metric_name))
                            : "no pruning step passed the tolerance: the model is unpruned",
             resource_table(r.estimate_baseline, r.estimate_final));
  fmt::print(human, "{}saved {} ({:.1f} s)\n", test_summary(r), config.out, r.seconds);
  const nlohmann::json j = prune::to_json(r, config);
  if (!a.json_out.empty()) write_output(a.json_out, j.dump(2) + "\n");
  if (!a.report_out.empty())
    write_report(human, a.report_out, "hwprune prune: " + model.name,
                 {{std::filesystem::path(config.out).filename().string(), j, nullptr}});
}

}  // namespace

std::function<void()> add_prune_command(CLI::App& app) {
  auto a = std::make_shared<PruneArgs>();
  auto& c = a->cfg.prune;
  auto& cfg = a->cfg;
  CLI::App* cmd = app.add_subcommand(
      "prune",
      "Hardware-aware pruning: remove the DSPs/BRAM the objective counts, within a "
      "relative accuracy tolerance");
  cmd->add_option("--model", cfg.inputs.source.model,
                  fmt::format("A builtin ({}, mlp:<sizes>; trained first, see --baseline-epochs) "
                              "or a trained model file (.hwp, .onnx, Keras .json/.h5, hls4ml .yml)",
                              kBuiltinNames.list(", ")))
      ->required();
  add_model_file_options(cmd, cfg.inputs.source);
  add_training_data_options(cmd, a->data);
  cmd->add_option("--out", cfg.out, "Where to write the pruned model (.hwp)")->required();
  cmd->add_option("--objective", a->objective,
                  fmt::format("What to remove:\n{}", hw::objective_table().help_lines("    ")))
      ->capture_default_str();
  add_hardware_options(cmd, a->hw);
  cmd->add_option("--scheduler", a->scheduler,
                  fmt::format("Sparsity schedule:\n{}", prune::kSchedulerNames.help_lines("    ")))
      ->capture_default_str();
  cmd->add_option("--initial-sparsity", c.scheduler.initial_sparsity, "Sparsity to start from")
      ->capture_default_str();
  cmd->add_option("--final-sparsity", c.scheduler.final_sparsity,
                  "Highest sparsity to try (share of every objective dimension removed)")
      ->capture_default_str();
  cmd->add_option("--step", c.scheduler.step, "Constant scheduler: sparsity added per step")
      ->capture_default_str();
  cmd->add_option("--steps", c.scheduler.steps, "Polynomial scheduler: number of steps")
      ->capture_default_str();
  cmd->add_option("--min-step", c.scheduler.min_step,
                  "Smallest sparsity increment worth a step (repairs stop below it)")
      ->capture_default_str();
  cmd->add_option("--rtol", c.rtol,
                  "Accept a step when val metric >= rtol * unpruned (accuracy; default 0.99) or "
                  "<= rtol * unpruned (loss, mse; default 1.02)");
  cmd->add_option("--class-floor", c.class_floor,
                  "Accuracy metrics: also keep every class's validation recall >= this times "
                  "its unpruned recall, e.g. 0.9");
  cmd->add_option("--metric", a->metric,
                  fmt::format("Validation metric:\n{}", prune::kMetricNames.help_lines("    ")))
      ->capture_default_str();
  cmd->add_option("--epochs-per-step", c.epochs_per_step,
                  "Masked fine-tuning epochs per step, at most (see --patience)")
      ->capture_default_str();
  cmd->add_option("--patience", c.patience,
                  "Fine-tuning stops after this many epochs without a better validation metric "
                  "and keeps the best epoch (0: always all epochs)")
      ->capture_default_str();
  cmd->add_option("--min-improvement", c.min_improvement,
                  "What counts as a better validation metric for --patience: more than this "
                  "(accuracy as a share: 0.001 = 0.1 pp)")
      ->capture_default_str();
  cmd->add_option("--rewind-epochs", c.rewind_epochs,
                  "Unmasked epochs before each ranking (pruned weights may regrow)")
      ->capture_default_str();
  cmd->add_option("--final-epochs", c.final_epochs,
                  "Masked fine-tuning epochs for the result after the last step (kept if the "
                  "validation metric does not get worse)")
      ->capture_default_str();
  cmd->add_option("--distill", c.train.distill_weight,
                  "Distillation: weight in [0, 1] of the unpruned model's outputs (its soft "
                  "classes) in every fine-tuning loss, beside the labels (0: labels only)")
      ->capture_default_str();
  cmd->add_option("--distill-temperature", c.train.distill_temperature,
                  "Softmax temperature of --distill")
      ->capture_default_str();
  cmd->add_option("--max-bad-trials", c.max_bad_trials,
                  "Stop after this many rejected steps (0: no cap; the repair search ends at "
                  "--min-step)")
      ->capture_default_str();
  cmd->add_option("--ranking", a->ranking,
                  fmt::format("Group importance:\n{}", prune::kRankingNames.help_lines("    ")))
      ->capture_default_str();
  cmd->add_option("--score-samples", c.score_samples, "Samples for oracle/saliency scores")
      ->capture_default_str();
  cmd->add_flag("--local", c.local, "One knapsack per layer instead of one over all layers");
  cmd->add_option("--widths", a->widths,
                  "Joint pruning and precision: the weight widths a group may take, e.g. "
                  "0,4,6,8,16 (0 = pruned; integer bits are fitted to the weights). Needs "
                  "--objective dsp-lut or lut-eq and --ranking saliency");
  cmd->add_option("--width-granularity", a->width_granularity,
                  fmt::format("With --widths, what one width covers:\n{}",
                              prune::kWidthGranularityNames.help_lines("    ")))
      ->capture_default_str();
  cmd->add_option("--lut-budget", c.lut_budget,
                  "With --widths and dsp-lut: LUTs the LUT multipliers may use (default: the "
                  "unpruned design with every group at the widest listed width below the DSP "
                  "threshold)");
  cmd->add_option("--lut-per-dsp", c.objective_options.lut_per_dsp,
                  "lut-eq: LUTs one DSP slice is worth (default: xcvu9p's LUTs per DSP)")
      ->capture_default_str();
  cmd->add_option("--solver", a->solver,
                  fmt::format("Knapsack solver:\n{}", prune::kSolverNames.help_lines("    ")))
      ->capture_default_str();
  cmd->add_option("--solver-time-limit", c.solver_time_limit, "Seconds per knapsack (exact)")
      ->capture_default_str();
  cmd->add_option("--alpha", a->alpha,
                  "Group-lasso strength (default: chosen by a search when --reg-epochs > 0)");
  cmd->add_option("--alpha-candidates", c.regularisation.candidates, "Strengths the search tries")
      ->capture_default_str();
  cmd->add_option("--search-epochs", c.regularisation.search_epochs,
                  "Training epochs per searched strength")
      ->capture_default_str();
  cmd->add_option("--beta", c.regularisation.beta,
                  "Group-variance (weight-sharing) strength; > 0 ties near-constant groups")
      ->capture_default_str();
  cmd->add_option("--reg-epochs", c.regularisation.epochs,
                  "Group-regularised training epochs before the first step")
      ->capture_default_str();
  cmd->add_flag("--no-reg-fine-tune", a->no_reg_fine_tune,
                "Fine-tune without the group regulariser");
  cmd->add_flag("--keep-dead-biases", a->keep_dead_biases,
                "Let a neuron/filter whose weights are all pruned keep its bias (it then cannot "
                "be removed)");
  cmd->add_flag("--no-reduce", a->no_reduce, "Keep all-zero neurons/filters in the saved model");
  cmd->add_flag("--fit-integer-bits", cfg.fit_integer_bits,
                "Where the baseline's results wrap around on the training rows, give the result "
                "(and accumulator) type the integer bits the observed range needs");
  cmd->add_option("--baseline-epochs", cfg.baseline.epochs,
                  "QAT epochs before pruning (default 20 for a builtin, 0 for a model file)");
  cmd->add_option("--baseline-lr", cfg.baseline.lr, "Learning rate of the baseline training")
      ->capture_default_str();
  cmd->add_option(
         "--baseline-schedule", a->baseline_schedule,
         fmt::format("Baseline learning-rate schedule: {}", train::kLrScheduleNames.list(", ")))
      ->capture_default_str();
  cmd->add_option("--save-baseline", cfg.save_baseline, "Also save the trained unpruned model");
  cmd->add_option("--lr", c.train.lr, "Fine-tuning learning rate")->capture_default_str();
  cmd->add_option("--schedule", a->schedule,
                  "Fine-tuning learning-rate schedule within each step (cosine decays to 0)")
      ->capture_default_str();
  cmd->add_option("--batch-size", c.train.batch_size, "Mini-batch size")->capture_default_str();
  cmd->add_option("--optimizer", a->optimizer, train::kOptimizerNames.list(" or "))
      ->capture_default_str();
  cmd->add_option("--seed", c.train.seed, "Seed of the whole run (splits, training)")
      ->capture_default_str();
  c.train.threads = 0;
  cmd->add_option("--threads", c.train.threads,
                  "Torch threads (0 = all cores for CNNs, 1 for MLPs)")
      ->capture_default_str();
  cmd->add_option("--checkpoint", cfg.checkpoint,
                  "Checkpoint written after the baseline and every step (default <out>.ckpt)");
  cmd->add_flag("--resume", cfg.resume,
                "Continue an interrupted run from its checkpoint (refused, naming the setting, "
                "if any setting differs)");
  cmd->add_option("--json", a->json_out,
                  "Write the configuration, step table and resources as JSON ('-': stdout)");
  cmd->add_option("--report", a->report_out,
                  "Write an HTML report (steps, accuracy vs resources, per-layer resources)");
  cmd->add_flag("--quiet", a->quiet, "No training progress");
  cmd->footer(
      "Examples:\n"
      "  hwprune prune --model jet-mlp --data letter --rf 2 --objective dsp --out jet_pruned.hwp\n"
      "  hwprune prune --model fmnist.hwp --data fashion-mnist --rf 2 --final-sparsity 0.8 "
      "--out f.hwp\n"
      "  hwprune prune --model jet.hwp --data letter --rf 4 --objective dsp-bram "
      "--scheduler binary --json res.json --out j.hwp\n"
      "  hwprune prune --model jet.json --hls-config jet.yml --data csv:jets.csv,label=class "
      "--resume --out j.hwp\n"
      "The result records each layer's RF, strategy and io type: estimate, synth, convert and "
      "predict --integer use them without flags.");
  return [a] { run_prune(*a); };
}

}  // namespace hwprune::cli
