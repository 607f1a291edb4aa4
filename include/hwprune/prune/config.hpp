// Everything a pruning run is configured with, in one place: the inputs (model and data),
// the hardware, the baseline training, the loop (objective, scheduler, tolerance, ranking,
// knapsack, fine-tuning, regularisation) and the outputs. One JSON form of it (to_json)
// serves the result file and the checkpoint fingerprint, so resuming refuses any setting
// that changes the result. docs/pruning.md describes the settings; docs/json.md the JSON.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwprune/data/prepare.hpp"
#include "hwprune/hw/map_model.hpp"
#include "hwprune/hw/objectives.hpp"
#include "hwprune/prune/importance.hpp"
#include "hwprune/prune/scheduler.hpp"
#include "hwprune/train/trainer.hpp"
#include "hwprune/util/names.hpp"

namespace hwprune::prune {

// The validation metric that decides acceptance.
enum class Metric { Auto, Accuracy, BalancedAccuracy, Loss, MSE };  // Auto: accuracy or MSE
inline constexpr NameTable<Metric, 5> kMetricNames{
    "metric",
    {{{"auto", Metric::Auto, "accuracy for a classifier, mse for a regression"},
      {"accuracy", Metric::Accuracy, "share of correct classes (higher is better)"},
      {"balanced-accuracy", Metric::BalancedAccuracy,
       "mean of the per-class recalls over the classes present (higher is better)"},
      {"loss", Metric::Loss, "cross-entropy or MSE loss (lower is better)"},
      {"mse", Metric::MSE, "mean squared error (lower is better)"}}}};
inline std::string_view to_string(Metric m) {
  return kMetricNames.name(m);
}
inline Metric parse_metric(std::string_view s) {
  return kMetricNames.parse(s);
}
inline bool is_increasing(Metric m) {
  return m == Metric::Accuracy || m == Metric::BalancedAccuracy;
}
// Increasing metrics pass when value >= rtol * baseline, decreasing ones when
// value <= rtol * baseline (so rtol < 1 is for accuracy and rtol > 1 for losses).
bool acceptable(double value, double baseline, double rtol, bool increasing);

// The knapsack solver of each step: exact (branch and bound, proven optimal within the time
// limit) or greedy.
inline constexpr NameTable<bool, 2> kSolverNames{
    "solver",
    {{{"exact", false, "branch and bound, proven optimal within --solver-time-limit"},
      {"greedy", true, "value per cost, fast, not optimal"}}}};

// Joint mode's hardware granularity of the widths (docs/pruning.md, "Per-group widths").
enum class WidthGranularity { Group, Layer };
inline constexpr NameTable<WidthGranularity, 2> kWidthGranularityNames{
    "width granularity",
    {{{"group", WidthGranularity::Group,
       "each multiplier group at its own width (hwprune's Verilog builds it)"},
      {"layer", WidthGranularity::Layer,
       "one width per layer, its groups kept at it or pruned (what hls4ml expresses)"}}}};

struct RegularisationConfig {
  int epochs = 0;               // group-regularised training before the first step (0: none)
  std::optional<double> alpha;  // fixed strength; nullopt: chosen by the search below
  std::vector<double> candidates{1e-5, 1e-4, 1e-3, 1e-2};
  int search_epochs = 2;           // training epochs per candidate in the search
  double beta = 0.0;               // group-variance (weight-sharing) strength
  bool during_fine_tuning = true;  // keep the regulariser on while fine-tuning masks
  // Weight sharing (beta > 0): after fine-tuning, a kept group whose weights' standard
  // deviation is below share_tolerance * |mean| is frozen to its mean and stays tied.
  double share_tolerance = 0.02;
};

// The pruning loop.
struct PruneConfig {
  std::string objective = "dsp";
  hw::ObjectiveOptions objective_options;
  SchedulerConfig scheduler;
  // Relative tolerance of the validation metric; nullopt: 0.99 for an increasing metric
  // (accuracy), 1.02 for a decreasing one (loss, mse).
  std::optional<double> rtol;
  Metric metric = Metric::Auto;
  // Accuracy metrics: a step also needs every class's validation recall to be at least this
  // times the baseline's recall of the class (nullopt: no floor).
  std::optional<double> class_floor;
  Ranking ranking = Ranking::L2;
  bool local = false;  // one knapsack per layer instead of one over all layers
  // Joint pruning and precision (docs/pruning.md, "Per-group widths"): the widths a group may
  // take (hw::parse_widths; 0 = pruned). Empty: pruning only, every group at its layer's
  // width. Needs the dsp-lut objective, the saliency ranking (widths are ranked by the
  // empirical Fisher) and one global knapsack.
  std::vector<int> widths;
  WidthGranularity width_granularity = WidthGranularity::Group;
  // Joint mode's LUT budget (the LUTs of the LUT multipliers); nullopt: what the unpruned
  // design costs with every group at the widest listed width below the DSP threshold (no
  // more LUT than uniform quantization at that width), 0 if there is none.
  std::optional<double> lut_budget;
  bool greedy = false;  // greedy knapsack instead of the exact solver
  double solver_time_limit = 30.0;
  int epochs_per_step = 5;  // masked fine-tuning epochs per step, at most
  // Fine-tuning (per step and final) stops after this many epochs without a better
  // validation metric (accuracy for accuracy and balanced accuracy, MSE, or loss) and keeps
  // the best epoch's weights; 0: always the full epochs (the default: measured better on
  // both benchmark problems, docs/performance.md).
  int patience = 0;
  // An epoch improves the validation metric only by more than this (accuracy: a share, e.g.
  // 0.001 = 0.1 pp).
  double min_improvement = 0.0;
  int rewind_epochs = 0;  // unmasked epochs before ranking (pruned weights may regrow)
  // Masked fine-tuning of the result after the last step; kept when the validation metric
  // is at least as good as the last accepted step's.
  int final_epochs = 0;
  int max_bad_trials = 0;        // stop after this many rejected steps in all (0: no cap)
  int64_t score_samples = 1024;  // samples for oracle/saliency scores
  RegularisationConfig regularisation;
  // Optimiser, lr, batch, threads (0: train::auto_threads) and the seed of the whole run.
  train::TrainConfig train;
  bool zero_dead_channels = true;  // see train::TrainConfig::zero_dead_channels
};

// Quantization-aware training of the unpruned model before pruning.
struct BaselineConfig {
  int epochs = -1;  // -1: 20 for a builtin, 0 for a model file (taken as trained)
  double lr = 1e-3;
  train::LrSchedule schedule = train::LrSchedule::Cosine;
};

struct PipelineConfig {
  data::TrainingSpec inputs;  // model source, data, precision, splits (inputs.seed: splits)
  hw::HardwareSpec hardware;
  BaselineConfig baseline;
  PruneConfig prune;   // prune.train.seed: the seed of the training
  bool reduce = true;  // remove all-zero neurons/filters from the result
  // Where the baseline's results overflow a wrapping type on the training rows, give the type
  // the integer bits the observed range needs (ir::fit_integer_bits) before pruning; without
  // it such overflows are reported.
  bool fit_integer_bits = false;
  // Outputs. `out` (.hwp) is written atomically at the end ("" = not written); the
  // checkpoint (default <out>.ckpt, "" with no out = none) after the baseline and every step,
  // and removed on success. `save_baseline` also writes the trained unpruned model.
  std::string out, checkpoint, save_baseline;
  bool resume = false;  // continue from the checkpoint if it exists
};

// Checks a loop configuration for a model of `task` before any work: Error for invalid
// values, an unknown objective, a scheduler that cannot run, or an rtol that cannot work with
// the metric. Returns the resolved metric (Auto -> accuracy/MSE).
Metric validate(const PruneConfig& config, Task task);
// The tolerance in effect: config.rtol, or the default for the metric.
double resolved_rtol(const PruneConfig& config, Metric metric);

// The whole configuration as flat JSON, keyed by the command-line option names ("rf",
// "strategy", "precision", "baseline_epochs", "seed", "objective", "data", ...): the
// "config" of the result JSON, and what a checkpoint's fingerprint compares. The output
// paths and resume are left out (they do not change the result).
nlohmann::json to_json(const PipelineConfig& config);

}  // namespace hwprune::prune
