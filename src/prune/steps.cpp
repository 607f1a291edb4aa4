// The scheduled knapsack steps (rank -> knapsack -> mask -> fine-tune -> accept, one per
// target the scheduler gives) and the final fine-tuning (docs/pruning.md, "Steps").
#include <cmath>

#include <fmt/format.h>

#include "hwprune/prune/importance.hpp"
#include "run.hpp"

namespace hwprune::prune {

namespace {

// Normalised importance of every plan group of `m` (scores from `m` for oracle/saliency).
// Per-weight scores of `m` on the training rows (a scratch trainer; m is untouched).
std::map<std::string, Tensor> scores_of(const Run& run, const Model& m, uint64_t seed,
                                        train::ScoreKind kind) {
  Model scratch = m;
  train::Trainer scorer(scratch, run.train_config(seed, 0));
  return scorer.weight_scores(run.train(), kind, run.loop.score_samples);
}

std::vector<std::vector<double>> ranked(const Run& run, const Model& m, uint64_t seed) {
  std::map<std::string, Tensor> scores;
  if (needs_data(run.loop.ranking))
    scores = scores_of(run, m, seed,
                       run.loop.ranking == Ranking::Oracle ? train::ScoreKind::Oracle
                                                           : train::ScoreKind::Saliency);
  return ranked_importance(m, run.plan, run.loop.ranking, &scores);
}

// Joint pruning and precision: the per-width importance of every plan group of `m` (the
// empirical Fisher of `m` weighs each width's quantization error).
std::vector<std::vector<double>> ranked_widths(const Run& run, const Model& m, uint64_t seed) {
  return choice_importance(m, run.plan, run.loop.widths,
                           scores_of(run, m, seed, train::ScoreKind::Fisher));
}

// The knapsack's choice at `target`, applied to m: groups masked (pruning) or, in joint mode,
// each group at its chosen width. `report`: what the knapsack proved.
void select_and_apply(const Run& run, Model& m, double target, uint64_t seed, SolveReport* report) {
  if (run.joint) {
    const auto limit = group_widths(m, run.plan);
    const auto widths = select_widths(run.plan, *run.joint, ranked_widths(run, m, seed), limit,
                                      target, run.loop, report);
    structures::apply_widths(m, run.plan, widths);
    return;
  }
  const auto importance = ranked(run, m, seed);
  const auto take =
      select_groups(run.plan, importance, dead_groups(m, run.plan), target, run.loop, report);
  structures::apply_plan(m, run.plan, take);
}

// Weight sharing: kept groups whose weights have (nearly) one value, tied to their mean.
// Groups whose unmasked weights are all equal already count as tied.
std::vector<hw::GroupSet> shared_groups(Model& m, const Run& run) {
  std::vector<hw::GroupSet> out;
  const double tol = run.loop.regularisation.share_tolerance;
  for (const auto& lp : run.plan.layers) {
    Layer& l = m.layer(lp.groups.layer_name);
    Tensor& k = l.weight("kernel");
    hw::GroupSet tied = lp.groups;
    tied.offsets = {0};
    tied.members.clear();
    auto masked = [&](int64_t idx) { return !l.mask.empty() && l.mask.data[idx] == 0.0f; };
    for (size_t g = 0; g < lp.groups.size(); ++g) {
      double sum = 0, sq = 0;
      int64_t n = 0;
      for (int64_t idx : lp.groups.group(g)) {
        if (masked(idx)) continue;
        sum += k.data[idx];
        sq += static_cast<double>(k.data[idx]) * k.data[idx];
        ++n;
      }
      if (n < 2) continue;
      const double mean = sum / n, var = std::max(0.0, sq / n - mean * mean);
      if (mean == 0 || std::sqrt(var) > tol * std::abs(mean)) continue;
      for (int64_t idx : lp.groups.group(g)) {
        if (masked(idx)) continue;
        k.data[idx] = static_cast<float>(mean);
        tied.members.push_back(idx);
      }
      tied.offsets.push_back(static_cast<int64_t>(tied.members.size()));
    }
    if (tied.size() > 0) out.push_back(std::move(tied));
  }
  return out;
}

// Fine-tunes m (masks in place) for at most `epochs`, stopping after `patience` epochs
// without a better validation metric (the best epoch's weights kept); the validation metric
// with its noise into `row`.
void fine_tune(Model& m, const Run& run, uint64_t seed, int epochs, StepRow& row) {
  const auto& reg = run.loop.regularisation;
  std::vector<hw::GroupSet> tied;
  if (reg.beta > 0) tied = shared_groups(m, run);
  train::TrainConfig tc = run.train_config(seed, epochs);
  tc.early_stopping_patience = run.loop.patience;
  // Watch what acceptance judges: the accuracy (also for balanced accuracy, which the
  // engine does not compute) or the MSE; the loss for the loss metric.
  tc.early_stopping_on_metric = run.metric != Metric::Loss;
  tc.early_stopping_min_delta = run.loop.min_improvement;
  train::Trainer t(m, tc);
  if (reg.during_fine_tuning) t.set_regulariser(run.penalties(run.state.alpha));
  for (const auto& g : tied) t.add_shared_groups(g);
  row.epochs = 0;
  if (epochs > 0)
    row.epochs = static_cast<int>(
        t.fit(run.train(), run.loop.patience > 0 ? &run.val() : nullptr, run.progress()).size());
  run.put_score(run.score(t), row);
}

// Unmasked training of m (full widths) so that pruned weights may regrow before the ranking.
void rewind(Model& m, const Run& run, uint64_t seed) {
  for (const auto& lp : run.plan.layers) {
    m.layer(lp.groups.layer_name).mask = Tensor{};
    m.layer(lp.groups.layer_name).widths = Tensor{};
  }
  train::Trainer t(m, run.train_config(seed ^ 0x9E3779B97F4A7C15ULL, run.loop.rewind_epochs));
  t.set_regulariser(run.penalties(run.state.alpha));
  t.fit(run.train(), nullptr, run.progress());
}

// The scheduler's verdict on a finished trial: the next target, and the row's action.
void judge(Run& run, StepRow& row, Model& m) {
  LoopState& st = run.state;
  if (row.accepted) {
    run.current = std::move(m);
    st.any_accepted = true;
    st.best_metric = row.metric;
    st.final_sparsity = row.target;
    st.next_target = run.scheduler->accepted(row.target, row.clearly);
    const auto failed = run.scheduler->failed();
    row.action = !failed ? "accepted"
                 : row.clearly && st.next_target && *st.next_target == *failed
                     ? fmt::format("accepted clearly: retry {:.4f}", *failed)
                     : "accepted";
    return;
  }
  ++st.bad_trials;
  const bool stop = run.loop.max_bad_trials > 0 && st.bad_trials >= run.loop.max_bad_trials;
  st.next_target = stop ? std::nullopt : run.scheduler->rejected(row.target);
  row.action = st.next_target ? fmt::format("repair -> {:.4f}", *st.next_target)
               : stop         ? fmt::format("stop ({} bad trials)", st.bad_trials)
                              : std::string("stop");
}

// One trial at the next target: rank, knapsack, mask, fine-tune, accept or repair.
void prune_step(Run& run) {
  LoopState& st = run.state;
  const double target = *st.next_target;
  const auto t0 = Clock::now();
  ++st.trial;
  const uint64_t seed = trial_seed(run.loop.train.seed, st.trial);
  Model m = run.current;
  if (run.loop.rewind_epochs > 0) rewind(m, run, seed);
  SolveReport proved;
  select_and_apply(run, m, target, seed, &proved);
  StepRow row;
  row.step = st.trial;
  row.target = target;
  row.knapsack_gap = proved.gap;
  fine_tune(m, run, seed, run.loop.epochs_per_step, row);
  row.resources = run.resources(m);
  const bool floor_failed = !row.accepted && run.within_tolerance(row.metric);
  judge(run, row, m);
  if (floor_failed)
    row.action += fmt::format(" (a class at {:.1f}% of its recall)", 100 * row.worst_class);
  if (!proved.optimal)
    row.action += fmt::format(" (knapsack not proven optimal: gap {:.2g}%)", 100 * proved.gap);
  run.record(row, t0);
}

}  // namespace

void prune_steps(Run& run) {
  while (run.state.next_target) prune_step(run);
}

void final_fine_tune(Run& run) {
  LoopState& st = run.state;
  const int epochs = run.loop.final_epochs;
  if (!st.any_accepted || epochs <= 0 || st.finished) return;
  const auto t0 = Clock::now();
  Model m = run.current;
  StepRow row;
  row.step = st.trial + 1;
  row.target = st.final_sparsity;
  fine_tune(m, run, trial_seed(run.loop.train.seed, st.trial + 1), epochs, row);
  row.resources = run.resources(m);
  row.accepted = run.increasing ? row.metric >= st.best_metric : row.metric <= st.best_metric;
  row.clearly = false;
  row.action = fmt::format("final fine-tuning ({} of {} epochs) {}", row.epochs, epochs,
                           row.accepted ? "kept" : "discarded (worse)");
  if (row.accepted) {
    run.current = std::move(m);
    st.best_metric = row.metric;
  }
  st.finished = true;
  run.record(row, t0);
}

}  // namespace hwprune::prune
