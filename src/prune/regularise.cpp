// Group regularisation before the first step: the strength search (when no alpha is given)
// and the regularised start, the loop's row 0 (docs/pruning.md, "Regularisation").
#include <fmt/format.h>

#include "hwprune/prune/importance.hpp"
#include "run.hpp"

namespace hwprune::prune {

namespace {

// Share of the (per-layer normalised) group-norm mass of `m` that a greedy knapsack at the
// final sparsity must drop: low when the regulariser already moved the mass into the groups
// the budget lets the network keep.
double lost_mass(const Run& run, const Model& m) {
  const auto imp = ranked_importance(m, run.plan, Ranking::L2);
  PruneConfig greedy = run.loop;
  greedy.greedy = true;
  const std::vector<uint8_t> none(run.plan.group_count(), 0);
  const auto take = select_groups(run.plan, imp, none, run.schedule.final_sparsity, greedy);
  double all = 0, kept = 0;
  size_t i = 0;
  for (const auto& layer : imp)
    for (double v : layer) {
      all += v;
      kept += take[i++] ? v : 0.0;
    }
  return all > 0 ? 1.0 - kept / all : 0.0;
}

// The strength search: each candidate trained briefly from the baseline, scored on the
// validation metric (must pass the tolerance) and on the mass it leaves to drop. Returns
// the chosen alpha.
double search_alpha(Run& run) {
  const auto& reg = run.loop.regularisation;
  std::optional<size_t> best;
  size_t best_metric_idx = 0;
  for (size_t ci = 0; ci < reg.candidates.size(); ++ci) {
    const double alpha = reg.candidates[ci];
    Model m = run.baseline;
    train::Trainer t(
        m, run.train_config(run.loop.train.seed + 104729ULL * (ci + 1), reg.search_epochs));
    t.set_regulariser(run.penalties(alpha));
    t.fit(run.train(), nullptr, run.progress());
    SearchRow row;
    row.alpha = alpha;
    row.metric = run.evaluate(t);
    row.acceptable = run.within_tolerance(row.metric);
    row.lost_mass = lost_mass(run, m);
    run.state.search.push_back(row);
    if (run.observer) run.observer->search_row(row);
    const auto& rows = run.state.search;
    if (row.acceptable && (!best || row.lost_mass < rows[*best].lost_mass - 1e-12)) best = ci;
    const bool better = run.increasing ? row.metric > rows[best_metric_idx].metric
                                       : row.metric < rows[best_metric_idx].metric;
    if (better) best_metric_idx = ci;
  }
  if (best) return reg.candidates[*best];
  run.message(fmt::format(
      "no regularisation strength kept the validation metric within the tolerance; using "
      "alpha {:g} (best metric)",
      reg.candidates[best_metric_idx]));
  return reg.candidates[best_metric_idx];
}

}  // namespace

void regularise(Run& run) {
  LoopState& st = run.state;
  // The baseline's rows (also on a resumed run: the paired noise of every step needs them).
  Model probe = run.baseline;
  train::Trainer scorer(probe, run.train_config(run.loop.train.seed, 0));
  const Scored base = run.score(scorer);
  run.baseline_values = base.values;
  if (run.resumed_loop) return;
  st.baseline_metric = base.metric;
  const auto t0 = Clock::now();
  const auto& reg = run.loop.regularisation;
  st.alpha = reg.alpha.value_or(0.0);
  if (!reg.alpha && reg.epochs > 0) st.alpha = search_alpha(run);
  run.current = run.baseline;
  StepRow row;
  row.target = run.schedule.initial_sparsity;
  if (reg.epochs > 0 && (st.alpha > 0 || reg.beta > 0)) {
    train::Trainer t(run.current, run.train_config(trial_seed(run.loop.train.seed, 0), reg.epochs));
    t.set_regulariser(run.penalties(st.alpha));
    t.fit(run.train(), nullptr, run.progress());
    run.put_score(run.score(t), row);
    row.epochs = reg.epochs;
    row.action = fmt::format("regularised (alpha {:g})", st.alpha);
  } else {
    run.put_score(base, row);
    row.action = "baseline";
  }
  row.resources = run.resources(run.current);
  row.accepted = true;  // the start, whatever its metric
  row.clearly = false;
  st.next_target = run.scheduler->first();
  run.record(row, t0);
}

}  // namespace hwprune::prune
