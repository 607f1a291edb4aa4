// Baseline training: quantization-aware training of the unpruned model (a builtin) before
// pruning, kept as a checkpoint so a killed run does not train it again.
#include <fmt/format.h>

#include "run.hpp"

namespace hwprune::prune {

void train_baseline(Run& run) {
  if (run.resumed_baseline) return;
  run.baseline = run.inputs.file.model;
  if (run.baseline_epochs == 0) return;  // a trained model file is the baseline
  const BaselineConfig& b = run.config.baseline;
  train::TrainConfig tc = run.loop.train;
  tc.epochs = run.baseline_epochs;
  tc.lr = b.lr;
  tc.schedule = b.schedule;
  run.message(fmt::format("baseline: quantization-aware training, {} epochs ({} lr {:g})",
                          tc.epochs, train::to_string(tc.schedule), tc.lr));
  train::Trainer t(run.baseline, tc);
  t.fit(run.train(), nullptr, run.progress());
  if (!run.checkpoint.empty()) {
    save_baseline_checkpoint(run);
    if (run.observer) run.observer->checkpoint_written(-1);
  }
}

}  // namespace hwprune::prune
