// The end of a pipeline run: the zero structures of the result removed (outputs checked
// identical on data), the test figures, and the result's estimates and hardware attributes.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "hwprune/data/predict.hpp"
#include "hwprune/util/error.hpp"
#include "run.hpp"

namespace hwprune::prune {

namespace {

// Largest difference between the quantized outputs of two models on up to 512 samples.
double max_output_difference(const Model& a, const Model& b, const data::Dataset& d) {
  const int64_t n = std::min<int64_t>(d.size(), 512);
  Shape s = d.x.shape;
  s[0] = n;
  Tensor x(s);
  std::copy(d.x.data.begin(), d.x.data.begin() + static_cast<long>(x.data.size()), x.data.begin());
  const Tensor ya = reference_forward(a, x, true), yb = reference_forward(b, x, true);
  double m = 0;
  for (size_t i = 0; i < ya.data.size(); ++i)
    m = std::max(m, static_cast<double>(std::abs(ya.data[i] - yb.data[i])));
  return m;
}

}  // namespace

void remove_zero_structures(Run& run) {
  const Model& pruned = run.state.any_accepted ? run.current : run.baseline;
  run.final = pruned;
  if (!run.config.reduce) return;
  structures::ReduceReport& report = run.result.reduction;
  run.final = reduce_for_hardware(pruned, *run.objective, run.config.hardware, &report);
  const data::Dataset& probe = run.inputs.test ? *run.inputs.test : run.val();
  const double diff = max_output_difference(pruned, run.final, probe);
  if (diff != 0.0)
    throw Error(fmt::format(
        "internal error: zero-structure removal changed the outputs by {} (nothing was written)",
        diff));
  for (const auto& c : report.changes)
    run.message(fmt::format("removed {} of {} outputs of {} (and the inputs of {})",
                            c.before - c.after, c.before, c.layer,
                            c.consumer.empty() ? "-" : c.consumer));
  if (report.refused > 0)
    run.message(fmt::format(
        "kept {} removable channels: removing them would invalidate a reuse factor or shift "
        "the weight-to-multiplier map and cost more",
        report.refused));
}

void evaluate_on_test(Run& run) {
  if (!run.inputs.test) return;
  run.result.test_baseline = data::evaluate(run.baseline, *run.inputs.test);
  run.result.test_final = data::evaluate(run.final, *run.inputs.test);
  run.result.test_origin = run.inputs.test_origin;
}

void record_result(Run& run) {
  PipelineResult& r = run.result;
  const LoopState& st = run.state;
  const hw::HardwareSpec& spec = run.config.hardware;
  const hw::EstimateOptions dense{run.loop.objective_options.bram, false},
      sparse{run.loop.objective_options.bram, true};
  const hw::MappedModel before = hw::map_model(run.baseline, spec);
  const hw::MappedModel after = hw::map_model(run.final, spec);
  r.estimate_baseline = hw::estimate_model(before.model, before.hardware, dense);
  r.estimate_final = hw::estimate_model(after.model, after.hardware, sparse);

  r.baseline = run.baseline;
  r.model = run.final;
  hw::record_hardware(r.baseline, before.hardware, spec.defaults);
  hw::record_hardware(r.model, after.hardware, spec.defaults);
  auto& meta = r.model.metadata;
  meta["prune.objective"] = run.loop.objective;
  meta["prune.sparsity"] = fmt::format("{:.6f}", st.any_accepted ? st.final_sparsity : 0.0);
  meta["prune.seed"] = std::to_string(run.loop.train.seed);
  if (r.test_final)
    meta["prune.test_metric"] =
        fmt::format("{:.6f}", r.model.task == Task::Classification ? r.test_final->accuracy
                                                                   : r.test_final->mse);

  r.any_accepted = st.any_accepted;
  r.resumed = run.resumed_loop || run.resumed_baseline;
  r.metric_name = std::string(to_string(run.metric));
  r.baseline_metric = st.baseline_metric;
  r.final_metric = st.any_accepted ? st.best_metric : st.baseline_metric;
  r.dimensions = run.plan.dimensions;
  r.baseline_resources = run.plan.baseline;
  r.final_resources = hw::model_resources(*run.objective, after.model, after.hardware, true);
  r.final_sparsity = st.any_accepted ? st.final_sparsity : 0.0;
  r.alpha = st.alpha;
  r.search = st.search;
  r.rows = st.rows;
  r.threads = run.loop.train.threads;
}

}  // namespace hwprune::prune
