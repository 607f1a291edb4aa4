// The pruning pipeline's driver: one flat list of named steps. Each step is a function in the
// file that owns it (run.hpp lists them); the state they share is a Run.
#include "hwprune/prune/pipeline.hpp"

#include "run.hpp"

namespace hwprune::prune {

PipelineResult run_pipeline(const PipelineConfig& config, PipelineObserver* observer) {
  return run_pipeline(data::prepare_training(config.inputs), config, observer);
}

PipelineResult run_pipeline(data::TrainingInputs inputs, const PipelineConfig& config,
                            PipelineObserver* observer) {
  Run run = start_run(std::move(inputs), config, observer);  // configuration checked
  map_to_hardware(run);         // an invalid RF or precision fails before any training
  open_checkpoint(run);         // resume only a checkpoint of this very configuration
  train_baseline(run);          // QAT of a builtin (skipped when resumed past it)
  fit_ranges(run);              // results that wrap: reported or fitted; joint: weight ranges
  teach(run);                   // with distillation: the baseline's outputs on the training rows
  plan_groups(run);             // groups, costs, per-layer regulariser strength, schedule
  regularise(run);              // strength search and the group-regularised start: row 0
  prune_steps(run);             // rank -> knapsack -> mask -> fine-tune -> accept, per target
  final_fine_tune(run);         // the last accepted model, masked, a few epochs more
  remove_zero_structures(run);  // smaller model, outputs checked identical on data
  evaluate_on_test(run);        // test metrics of the baseline and the result
  record_result(run);           // estimates, hardware attributes, the result's figures
  save_result(run);             // the model file written; checkpoints removed after it
  return std::move(run.result);
}

}  // namespace hwprune::prune
