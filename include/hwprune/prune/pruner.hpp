// The hardware-aware pruning loop (the seed's method): group-regularised training, then
// steps of rank -> knapsack masks at a scheduled sparsity -> masked fine-tuning ->
// acceptance at a relative tolerance, with checkpoints so a killed run can resume; and the
// removal of the zero structures of the result. Uses the training engine through its
// torch-free header; the method's steps are documented in docs/pruning.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hwprune/data/dataset.hpp"
#include "hwprune/hw/hardware.hpp"
#include "hwprune/hw/objectives.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/prune/importance.hpp"
#include "hwprune/prune/scheduler.hpp"
#include "hwprune/structures/reduce.hpp"
#include "hwprune/train/trainer.hpp"

namespace hwprune::prune {

// The validation metric that decides acceptance.
enum class Metric { Auto, Accuracy, Loss, MSE };  // Auto: accuracy, or MSE for regression
std::string_view to_string(Metric m);
Metric parse_metric(std::string_view s);  // "auto", "accuracy", "loss", "mse"
bool is_increasing(Metric m);             // accuracy
// Increasing metrics pass when value >= rtol * baseline, decreasing ones when
// value <= rtol * baseline (so rtol < 1 is for accuracy and rtol > 1 for losses).
bool acceptable(double value, double baseline, double rtol, bool increasing);

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

struct PruneConfig {
  std::string objective = "dsp";
  hw::ObjectiveOptions objective_options;
  SchedulerConfig scheduler;
  double rtol = 0.99;
  Metric metric = Metric::Auto;
  Ranking ranking = Ranking::L2;
  bool local = false;   // one knapsack per layer instead of one over all layers
  bool greedy = false;  // greedy knapsack instead of the exact solver
  double solver_time_limit = 30.0;
  int epochs_per_step = 5;       // masked fine-tuning epochs per step
  int rewind_epochs = 0;         // unmasked epochs before ranking (pruned weights may regrow)
  // Masked fine-tuning of the result after the last step; kept when the validation metric
  // is at least as good as the last accepted step's.
  int final_epochs = 0;
  int max_bad_trials = 3;        // stop after this many rejected steps in all
  int64_t score_samples = 1024;  // samples for oracle/saliency scores
  RegularisationConfig regularisation;
  train::TrainConfig train;        // optimiser, lr, batch, threads; seed of the whole run
  bool zero_dead_channels = true;  // see train::TrainConfig::zero_dead_channels
  std::string checkpoint;          // written after every step ("" = none)
  bool resume = false;             // continue from `checkpoint` if it exists
};

// One row of the pruning table.
struct StepRow {
  int step = 0;                   // 0: the regularised start; then 1, 2, ... per trial
  double target = 0;              // target sparsity of the step
  std::vector<double> resources;  // objective resources of the step's model (zeros free)
  double metric = 0;              // validation metric
  bool accepted = false;
  std::string action;  // e.g. "accepted", "repair -> 0.45", "stop"
  double seconds = 0;  // wall time of the step
};

// One candidate of the regularisation-strength search.
struct SearchRow {
  double alpha = 0;
  double metric = 0;  // validation metric after the search epochs
  bool acceptable = false;
  double lost_mass = 0;  // share of the group-norm mass a knapsack at the final sparsity drops
};

// Receives progress; every method is optional. checkpoint_written runs after a checkpoint
// was saved (tests throw there to simulate a kill).
class PruneObserver {
 public:
  virtual ~PruneObserver() = default;
  virtual void message(const std::string& /*text*/) {}
  virtual void search_row(const SearchRow& /*row*/) {}
  virtual void step_row(const StepRow& /*row*/) {}
  virtual train::ProgressSink* progress() { return nullptr; }
  virtual void checkpoint_written(int /*step*/) {}
};

struct PruneResult {
  Model model;  // the best accepted model (masks in place), or the input
  bool any_accepted = false;
  std::string metric_name;     // "accuracy", "loss" or "mse"
  double baseline_metric = 0;  // of the input model on the validation data
  double final_metric = 0;     // of `model`
  std::vector<std::string> dimensions;
  std::vector<double> baseline_resources;  // unpruned design
  std::vector<double> final_resources;     // `model`, zeros free
  double final_sparsity = 0;               // last accepted target (0 if none)
  double alpha = 0;                        // regularisation strength used
  std::vector<SearchRow> search;
  std::vector<StepRow> rows;
  bool resumed = false;
};

// Checks a configuration for a model of `task` before any work (prune() calls it too):
// Error for invalid values, an unknown objective, a scheduler that cannot run, or an rtol
// that cannot work with the metric. Returns the resolved metric (Auto -> accuracy/MSE).
Metric validate(const PruneConfig& config, data::Task task);

// Prunes `model` (trained; precisions as configured) for the hardware `defaults` on
// `device`. `train` and `val` are standardised already. Deterministic for a seed with one
// thread; a run resumed from its checkpoint ends with the same masks and weights as an
// uninterrupted one. Errors: invalid configuration, an unknown objective, a model without
// prunable layers, or a checkpoint written by a different run.
PruneResult prune(const Model& model, const hw::HardwareDefaults& defaults,
                  const hw::Device& device, const data::Dataset& train, const data::Dataset& val,
                  const PruneConfig& config, PruneObserver* observer = nullptr);

// The groups and costs the loop prunes: make_plan on the model with BatchNorms folded and
// the hardware resolved; the last weight layer is frozen when the objective would remove
// its neurons (its outputs are the classes). Error if nothing can be pruned.
structures::Plan prune_plan(const Model& model, const hw::Objective& objective,
                            const hw::HardwareDefaults& defaults, const hw::Device& device);

// The knapsack's choice at `target` sparsity (1 = keep, indexed like the plan's groups):
// resources(kept) <= (1 - target) * baseline in every dimension, globally or per layer
// (config.local), with the exact or greedy solver. Groups flagged in `dead` (already
// pruned) are never kept. `optimal` tells whether every knapsack was proven optimal.
std::vector<uint8_t> select_groups(const structures::Plan& plan,
                                   const std::vector<std::vector<double>>& importance,
                                   const std::vector<uint8_t>& dead, double target,
                                   const PruneConfig& config, bool* optimal = nullptr);

// The objective's resources of a model (BatchNorms folded first) with zeros free (sparse)
// or every weight present.
std::vector<double> resources_of(const Model& model, const hw::Objective& objective,
                                 const hw::HardwareDefaults& defaults, const hw::Device& device,
                                 bool sparse);

// Zero-structure removal for the hardware: structures::remove_zero_structures, repeated
// until nothing more goes (a removal can make the producer's channels unread), accepting a
// smaller model only when every reuse factor stays valid and none of the objective's
// resources grows (removing inputs of a Resource layer shifts its weight-to-multiplier map).
Model reduce_for_hardware(const Model& model, const hw::Objective& objective,
                          const hw::HardwareDefaults& defaults, const hw::Device& device,
                          structures::ReduceReport* report = nullptr);

}  // namespace hwprune::prune
