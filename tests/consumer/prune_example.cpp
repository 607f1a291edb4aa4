// The pruning pipeline driven from C++ (what `hwprune prune --model jet-mlp --data letter
// --rf 2 --objective dsp ...` runs): usage  prune_example <data spec> <out.hwp>
#include <cstdio>

#include "hwprune/prune/pipeline.hpp"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  hwprune::prune::PipelineConfig c;
  c.inputs.source.model = "jet-mlp";  // a builtin, trained first (baseline.epochs)
  c.inputs.data = argv[1];
  c.hardware.defaults.overrides.reuse_factor = 2;
  c.baseline.epochs = 3;
  c.prune.objective = "dsp";
  c.prune.scheduler.final_sparsity = 0.5;
  c.prune.scheduler.steps = 2;
  c.prune.epochs_per_step = 1;
  c.prune.rtol = 0.9;
  c.out = argv[2];
  const hwprune::prune::PipelineResult r = hwprune::prune::run_pipeline(c);
  std::printf("DSP %g -> %g, test accuracy %.4f -> %.4f\n", r.baseline_resources[0],
              r.final_resources[0], r.test_baseline->accuracy, r.test_final->accuracy);
  return r.final_resources[0] < r.baseline_resources[0] ? 0 : 1;
}
