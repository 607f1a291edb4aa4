// The first steps of a pipeline run (its configuration, the hardware, the plan) and the
// helpers every step shares (see run.hpp).
#include "run.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::prune {

train::TrainConfig Run::train_config(uint64_t seed, int epochs) const {
  train::TrainConfig t = loop.train;
  t.seed = seed;
  t.epochs = epochs;
  t.early_stopping_patience = 0;
  t.zero_dead_channels = loop.zero_dead_channels;
  return t;
}

std::vector<train::GroupPenalty> Run::penalties(double alpha) const {
  std::vector<train::GroupPenalty> p;
  if (alpha <= 0 && loop.regularisation.beta <= 0) return p;
  for (size_t li = 0; li < plan.layers.size(); ++li)
    p.push_back({plan.layers[li].groups, alpha * layer_factor[li], loop.regularisation.beta});
  return p;
}

std::vector<double> Run::resources(const Model& m) const {
  return resources_of(m, *objective, config.hardware, /*sparse=*/true);
}

void Run::record(StepRow row, Clock::time_point t0) {
  row.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  state.rows.push_back(row);
  if (observer) observer->step_row(row);
  if (!checkpoint.empty()) {
    save_loop_checkpoint(*this);
    if (observer) observer->checkpoint_written(row.step);
  }
}

Run start_run(data::TrainingInputs inputs, const PipelineConfig& config,
              PipelineObserver* observer) {
  Run run(std::move(inputs), config, observer);
  if (!run.inputs.val)
    throw Error("pruning needs validation data to accept or reject steps (use --val-split > 0)");
  Model& model = run.inputs.file.model;
  model.infer_shapes();
  run.loop = config.prune;
  if (run.loop.train.threads <= 0) run.loop.train.threads = train::auto_threads(model);
  run.metric = validate(run.loop, model.task);
  run.increasing = is_increasing(run.metric);
  run.loop.rtol = resolved_rtol(run.loop, run.metric);
  run.val_rows = validation_rows(run.val(), run.metric);
  run.objective = hw::make_objective(run.loop.objective, run.loop.objective_options);
  run.baseline_epochs =
      config.baseline.epochs >= 0 ? config.baseline.epochs : (run.inputs.builtin ? 20 : 0);
  run.checkpoint = !config.checkpoint.empty() ? config.checkpoint
                   : config.out.empty()       ? std::string()
                                              : config.out + ".ckpt";
  declare_output(config.out, "--out");  // replaced when the whole command has succeeded
  declare_output(config.save_baseline, "--save-baseline");
  check_output_folder(run.checkpoint, "--checkpoint");  // written at once, for --resume
  return run;
}

void map_to_hardware(Run& run) {
  const hw::MappedModel m = hw::map_model(run.inputs.file.model, run.config.hardware);
  for (const auto& note : m.hardware.adjustments) run.message("note: " + note);
  run.input_hardware = m.hardware;
}

void plan_groups(Run& run) {
  run.plan = prune_plan(run.baseline, *run.objective, run.config.hardware);
  run.layer_factor = layer_factors(run.plan);
  run.schedule = run.loop.scheduler;
  const double reachable = reachable_sparsity(run.plan);
  if (run.schedule.final_sparsity > reachable + 1e-12) {
    run.message(fmt::format(
        "final sparsity {:.4f} capped at {:.4f}: the rest of the {} is fixed (no group removes it)",
        run.schedule.final_sparsity, reachable, run.loop.objective));
    run.schedule.final_sparsity = reachable;
  }
  if (!run.loop.widths.empty()) {
    run.joint = joint_plan(run.baseline, *run.objective, run.config.hardware, run.plan, run.loop);
    run.message(
        fmt::format("per-group widths {}: LUT budget {:.0f}{}", fmt::join(run.loop.widths, ","),
                    run.joint->lut_budget,
                    run.loop.lut_budget ? "" : " (the unpruned design at the widest LUT width)"));
  }
  if (run.observer) run.observer->planned(run.plan.dimensions, run.plan.baseline);
  run.scheduler = std::make_unique<Scheduler>(run.schedule);
  if (!run.scheduler_state.empty()) run.scheduler->load(run.scheduler_state);
}

}  // namespace hwprune::prune
