// The state one pipeline run shares between its steps (pipeline.cpp calls them in order; each
// step is a function in the file that owns it). Private to src/prune.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwprune/prune/pipeline.hpp"
#include "hwprune/prune/plan.hpp"
#include "hwprune/prune/scheduler.hpp"
#include "hwprune/train/trainer.hpp"

namespace hwprune::prune {

using Clock = std::chrono::steady_clock;

// The loop's progress: what a checkpoint holds besides the current model.
struct LoopState {
  std::optional<double> next_target;
  int trial = 0;
  int bad_trials = 0;
  bool any_accepted = false;
  bool finished = false;  // the final fine-tuning has run
  double best_metric = 0;
  double final_sparsity = 0;
  double alpha = 0;
  double baseline_metric = 0;
  std::vector<SearchRow> search;
  std::vector<StepRow> rows;
};

// How the validation rows make up the metric (validation.cpp): metric = sum_i weight_i *
// value_i, where value_i is the row's correctness (accuracy, balanced accuracy), loss or
// squared error; the rows of one stratum (a class, for balanced accuracy; else all rows)
// are a sample for the standard errors.
struct ValidationRows {
  std::vector<double> weight;
  std::vector<int> stratum;
  int strata = 1;
};
ValidationRows validation_rows(const data::Dataset& val, Metric metric);

// A model's validation metric with its noise.
struct Scored {
  double metric = 0;
  double se = 0;        // standard error of the metric (the rows as a sample)
  double delta_se = 0;  // standard error of metric - baseline's on the same rows (paired)
  // Accuracy metrics: the lowest ratio of a class's recall to the baseline's recall of that
  // class (classes the baseline gets all wrong left out; 1 without a baseline).
  double worst_class = 1;
  std::vector<double> values;  // per row
};

struct Run {
  Run(data::TrainingInputs in, const PipelineConfig& c, PipelineObserver* obs)
      : config(c), observer(obs), inputs(std::move(in)) {}

  const PipelineConfig& config;
  PipelineObserver* observer;
  data::TrainingInputs inputs;  // the input model is inputs.file.model
  Clock::time_point started = Clock::now();

  // Resolved by start_run and map_to_hardware.
  PruneConfig loop;  // config.prune with the threads resolved
  Metric metric = Metric::Accuracy;
  bool increasing = true;
  std::unique_ptr<hw::Objective> objective;
  ValidationRows val_rows;
  std::vector<double> baseline_values;  // the baseline's per-row values (score_baseline)
  int baseline_epochs = 0;
  hw::HardwareModel input_hardware;  // the input model mapped to hardware

  // The checkpoint (open_checkpoint).
  std::string checkpoint;  // path of the loop checkpoint ("" = none)
  nlohmann::json fingerprint;
  bool resumed_baseline = false, resumed_loop = false;

  // Models along the way.
  Model baseline;  // after baseline training
  Model current;   // the last accepted model of the loop
  Model final;     // the result, after zero-structure removal

  // The loop (plan_groups, regularise, prune_steps).
  structures::Plan plan;
  std::optional<JointPlan> joint;  // joint pruning and precision (loop.widths)
  std::vector<double> layer_factor;
  SchedulerConfig schedule;  // config's, with the final sparsity capped at what is reachable
  std::unique_ptr<Scheduler> scheduler;
  std::string scheduler_state;  // from a resumed checkpoint, loaded by plan_groups
  LoopState state;

  PipelineResult result;

  const data::Dataset& train() const { return inputs.train; }
  const data::Dataset& val() const { return *inputs.val; }
  void message(const std::string& text) const {
    if (observer) observer->message(text);
  }
  train::ProgressSink* progress() const { return observer ? observer->progress() : nullptr; }

  // Training settings of the loop with this seed and epoch count.
  train::TrainConfig train_config(uint64_t seed, int epochs) const;
  // The group regulariser at strength alpha (per layer scaled by layer_factor).
  std::vector<train::GroupPenalty> penalties(double alpha) const;
  // The validation metric of what `t` trains, with its noise (validation.cpp).
  Scored score(train::Trainer& t) const;
  double evaluate(train::Trainer& t) const;  // score(t).metric
  // The metric within the tolerance: >= rtol * baseline (increasing) or <= (decreasing).
  bool within_tolerance(double metric) const;
  // Acceptable: within the tolerance and, with a class floor, every class's recall at least
  // class_floor times the baseline's.
  bool acceptable(const Scored& s) const;
  // Acceptable with a margin beyond the noise: the metric passes the threshold by more than
  // the paired standard error of its difference from the baseline.
  bool clearly_acceptable(const Scored& s) const;
  // A row's metric, its noise, its worst class, and the verdicts acceptable and clearly.
  void put_score(const Scored& s, StepRow& row) const;
  // The objective's resources of a model, zeros free.
  std::vector<double> resources(const Model& m) const;
  // A finished row: its time, the observer, and a checkpoint of `current` and the state.
  void record(StepRow row, Clock::time_point t0);
};

// Seeds of the loop's trainings: one per trial, derived from the run's seed.
inline uint64_t trial_seed(uint64_t seed, int trial) {
  return seed + 7919ULL * static_cast<uint64_t>(trial);
}

// The steps, in the order run_pipeline calls them (each file owns its steps).
Run start_run(data::TrainingInputs inputs, const PipelineConfig& config,
              PipelineObserver* observer);  // run.cpp
void map_to_hardware(Run& run);             // run.cpp
void open_checkpoint(Run& run);             // checkpoint.cpp
void train_baseline(Run& run);              // baseline.cpp
void fit_ranges(Run& run);                  // baseline.cpp
void teach(Run& run);                       // baseline.cpp
void plan_groups(Run& run);                 // run.cpp
void regularise(Run& run);                  // regularise.cpp
void prune_steps(Run& run);                 // steps.cpp
void final_fine_tune(Run& run);             // steps.cpp
void remove_zero_structures(Run& run);      // finish.cpp
void evaluate_on_test(Run& run);            // finish.cpp
void record_result(Run& run);               // finish.cpp
void save_result(Run& run);                 // checkpoint.cpp

// The JSON of a step row and a search row (report.cpp): one schema for the result file and the
// checkpoint (docs/json.md). Error naming `where` for a malformed row.
nlohmann::json to_json(const StepRow& row, const std::vector<std::string>& dimensions);
StepRow step_row_from(const nlohmann::json& j, const std::vector<std::string>& dimensions,
                      const std::string& where);
nlohmann::json to_json(const SearchRow& row);
SearchRow search_row_from(const nlohmann::json& j, const std::string& where);

// Checkpoint files (checkpoint.cpp), shared by the baseline and the loop.
void save_loop_checkpoint(const Run& run);
void save_baseline_checkpoint(const Run& run);

}  // namespace hwprune::prune
