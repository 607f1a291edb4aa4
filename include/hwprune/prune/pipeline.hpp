// The hardware-aware pruning pipeline as one call: the model and its data, the mapping to
// hardware, baseline training, group regularisation, the scheduled knapsack steps with
// fine-tuning and acceptance, final fine-tuning, zero-structure removal, the test figures and
// the saved result, with one checkpoint that lets a killed run resume. docs/pruning.md names
// each step and the function that does it; docs/json.md documents the result's JSON.
//
// Intended use:
//   prune::PipelineConfig c;
//   c.inputs.source.model = "jet-mlp";  c.inputs.data = "letter";
//   c.hardware.defaults.overrides.reuse_factor = 2;  c.prune.objective = "dsp";
//   c.out = "jet_pruned.hwp";
//   const prune::PipelineResult r = prune::run_pipeline(c);
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwprune/data/metrics.hpp"
#include "hwprune/data/prepare.hpp"
#include "hwprune/hw/estimate.hpp"
#include "hwprune/prune/config.hpp"
#include "hwprune/structures/reduce.hpp"

namespace hwprune::prune {

// One row of the pruning table.
struct StepRow {
  int step = 0;                   // 0: the (regularised) start; then 1, 2, ... per trial
  double target = 0;              // target sparsity of the step
  std::vector<double> resources;  // objective resources of the step's model (zeros free)
  double metric = 0;              // validation metric
  double metric_se = 0;           // its standard error (the validation rows as a sample)
  double delta_se = 0;            // standard error of metric - baseline's, paired by row
  int epochs = 0;                 // fine-tuning epochs run
  // Accuracy metrics: the lowest ratio of a class's validation recall to the baseline's
  // (1 for the baseline; what --class-floor bounds).
  double worst_class = 1;
  bool accepted = false;
  bool clearly = false;     // accepted by more than delta_se beyond the threshold
  std::string action;       // e.g. "accepted", "repair -> 0.45", "stop (3 bad trials)"
  double knapsack_gap = 0;  // the step's knapsack: proven relative gap (SolveReport::gap)
  double seconds = 0;       // wall time of the step
};

// One candidate of the regularisation-strength search.
struct SearchRow {
  double alpha = 0;
  double metric = 0;  // validation metric after the search epochs
  bool acceptable = false;
  double lost_mass = 0;  // share of the group-norm mass a knapsack at the final sparsity drops
};

// Receives progress; every method is optional. checkpoint_written runs after a checkpoint
// was saved: step -1 after the baseline training, else the row's step (tests throw there to
// simulate a kill).
class PipelineObserver {
 public:
  virtual ~PipelineObserver() = default;
  virtual void message(const std::string& /*text*/) {}
  // Once the plan is made: the objective's dimensions and the unpruned design's resources.
  virtual void planned(const std::vector<std::string>& /*dimensions*/,
                       const std::vector<double>& /*baseline*/) {}
  virtual void search_row(const SearchRow& /*row*/) {}
  virtual void step_row(const StepRow& /*row*/) {}
  virtual train::ProgressSink* progress() { return nullptr; }
  virtual void checkpoint_written(int /*step*/) {}
};

struct PipelineResult {
  // The result: the last accepted model (masks in place), zero structures removed (unless
  // config.reduce is false), each layer's hardware recorded. The input when nothing passed.
  Model model;
  Model baseline;  // the unpruned model (after baseline training), hardware recorded
  bool any_accepted = false;
  bool resumed = false;
  std::string metric_name;                 // "accuracy", "loss" or "mse"
  double baseline_metric = 0;              // validation metric of the baseline
  double final_metric = 0;                 // of the result
  std::vector<std::string> dimensions;     // the objective's, e.g. {"DSP", "BRAM18"}
  std::vector<double> baseline_resources;  // unpruned design
  std::vector<double> final_resources;     // the result, zeros free
  double final_sparsity = 0;               // last accepted target (0 if none)
  double alpha = 0;                        // regularisation strength used
  std::vector<SearchRow> search;
  std::vector<StepRow> rows;
  structures::ReduceReport reduction;
  // The estimate (config's BRAM model) of the unpruned design and of the result.
  hw::ModelEstimate estimate_baseline, estimate_final;
  // On the test part, when the data has one (data::evaluate: the float QAT model).
  std::optional<data::Metrics> test_baseline, test_final;
  std::string test_origin;
  int threads = 1;
  double seconds = 0;
};

// Prepares the inputs from config.inputs (data::prepare_training), then runs the pipeline.
PipelineResult run_pipeline(const PipelineConfig& config, PipelineObserver* observer = nullptr);

// The pipeline on inputs prepared already (config.inputs then only names them in the
// result): `inputs.train` and `inputs.val` (required) are standardised, `inputs.test` too when
// present. Deterministic for a seed with one thread; a run resumed from its checkpoint ends
// with the same masks and weights as an uninterrupted one. Errors: invalid configuration,
// an unknown objective, an invalid RF, a model without prunable layers, or a checkpoint of
// another run (naming the setting that differs).
PipelineResult run_pipeline(data::TrainingInputs inputs, const PipelineConfig& config,
                            PipelineObserver* observer = nullptr);

// The result as JSON (docs/json.md, "prune"): the configuration, every step row, the
// per-layer estimates before and after, the test metrics and the removed channels.
nlohmann::json to_json(const PipelineResult& result, const PipelineConfig& config);

}  // namespace hwprune::prune
