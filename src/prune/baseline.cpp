// Baseline training: quantization-aware training of the unpruned model (a builtin) before
// pruning, kept as a checkpoint so a killed run does not train it again; then the check of
// its results' ranges against their types, and its outputs as the teacher of distillation.
#include <algorithm>
#include <cmath>

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

namespace {

// Joint pruning and precision: a narrow width keeps its layer's weight integer bits
// (at_width), so they are first fitted to the weights the hardware holds (the folded kernel's
// largest magnitude), the width kept: ap_fixed<16,6> with |w| < 1 becomes ap_fixed<16,1>, and
// 8 bits then mean a step of 2^-7 instead of 2^-2.
void fit_weight_ranges(Run& run) {
  if (run.loop.widths.empty()) return;
  const Model folded = fold_batchnorm(run.baseline);
  for (Layer& l : run.baseline.layers) {
    if (!l.has_kernel() || !l.precision.weight) continue;
    const FixedType t = *l.precision.weight;
    double max_abs = 0;
    for (float v : effective_kernel(folded.layer(l.name), false).data)
      max_abs = std::max(max_abs, std::abs(static_cast<double>(v)));
    const int need = integer_bits_for(max_abs, t.is_signed);
    if (need >= t.integer) continue;
    l.precision.weight = FixedType::make(t.width, need, t.is_signed, t.quant, t.overflow);
    run.message(fmt::format("per-group widths: '{}' weights {} -> {} (|w| up to {:.4g})", l.name,
                            t.str(), l.precision.weight->str(), max_abs));
  }
}

}  // namespace

void fit_ranges(Run& run) {
  fit_weight_ranges(run);
  const train::TrainConfig tc = run.train_config(run.loop.train.seed, 0);
  if (run.config.fit_integer_bits) {
    for (const auto& line : train::fit_result_ranges(run.baseline, run.train(), tc))
      run.message("fit integer bits: " + line);
    return;
  }
  Model probe = run.baseline;
  train::Trainer t(probe, tc);
  const data::Metrics m = t.evaluate(run.train());
  for (const auto& o : m.overflows)
    run.message(fmt::format(
        "warning: {} of {} results of '{}' wrap around on the training rows (|value| up to "
        "{:.4g}; --fit-integer-bits gives the type the integer bits that hold them)",
        o.wrapped, o.values, o.layer, o.max_abs));
  for (const auto& line : fit_integer_bits(probe, m.overflows)) run.message("  would fit: " + line);
}

void teach(Run& run) {
  const train::TrainConfig tc = run.train_config(run.loop.train.seed, 0);
  if (tc.distill_weight == 0) return;
  Model probe = run.baseline;
  train::Trainer t(probe, tc);
  run.inputs.train.teacher = t.predict(run.train().x, /*logits=*/true);
  run.message(
      fmt::format("distillation: the unpruned model teaches every fine-tuning (weight "
                  "{:g}, temperature {:g})",
                  tc.distill_weight, tc.distill_temperature));
}

}  // namespace hwprune::prune
