// The pruning loop: regularisation and its strength search, ranked knapsack masks at
// scheduled sparsities, masked fine-tuning, acceptance, checkpoints and resume.
#include "hwprune/prune/pruner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "hwprune/io/model_file.hpp"
#include "hwprune/knapsack/knapsack.hpp"
#include "hwprune/structures/selection.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::prune {

using nlohmann::json;

std::string_view to_string(Metric m) {
  switch (m) {
    case Metric::Auto:
      return "auto";
    case Metric::Accuracy:
      return "accuracy";
    case Metric::Loss:
      return "loss";
    case Metric::MSE:
      return "mse";
  }
  return "?";
}

Metric parse_metric(std::string_view s) {
  for (auto m : {Metric::Auto, Metric::Accuracy, Metric::Loss, Metric::MSE})
    if (to_string(m) == s) return m;
  throw Error(fmt::format("unknown metric \"{}\" (known: auto, accuracy, loss, mse)", s));
}

bool is_increasing(Metric m) {
  return m == Metric::Accuracy;
}

bool acceptable(double value, double baseline, double rtol, bool increasing) {
  if (!std::isfinite(value)) return false;
  return increasing ? value >= rtol * baseline : value <= rtol * baseline;
}

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

Model folded(const Model& m) {
  Model f = fold_batchnorm(m);
  f.infer_shapes();
  return f;
}

double metric_of(const train::Metrics& m, Metric metric) {
  switch (metric) {
    case Metric::Accuracy:
      return m.accuracy;
    case Metric::Loss:
      return m.loss;
    case Metric::MSE:
      return m.mse;
    case Metric::Auto:
      break;
  }
  return m.loss;
}

void check_config(const PruneConfig& c) {
  if (c.epochs_per_step < 0 || c.rewind_epochs < 0 || c.final_epochs < 0)
    throw Error("epochs per step, rewinding and final epochs must be >= 0");
  if (c.max_bad_trials < 1)
    throw Error(fmt::format("max bad trials must be >= 1, got {}", c.max_bad_trials));
  if (!(c.rtol > 0) || !std::isfinite(c.rtol))
    throw Error(fmt::format("rtol must be > 0, got {}", c.rtol));
  if (c.score_samples < 1) throw Error("score samples must be >= 1");
  if (!(c.solver_time_limit > 0)) throw Error("solver time limit must be > 0");
  const auto& r = c.regularisation;
  if (r.epochs < 0 || r.search_epochs < 1)
    throw Error("regularisation epochs must be >= 0 and search epochs >= 1");
  if (r.alpha && !(*r.alpha >= 0 && std::isfinite(*r.alpha)))
    throw Error(fmt::format("alpha must be finite and >= 0, got {}", *r.alpha));
  if (!(r.beta >= 0 && std::isfinite(r.beta)))
    throw Error(fmt::format("beta must be finite and >= 0, got {}", r.beta));
  if (!r.alpha && r.epochs > 0 && r.candidates.empty())
    throw Error("the regularisation search needs at least one candidate alpha");
  for (double a : r.candidates)
    if (!(a >= 0 && std::isfinite(a)))
      throw Error(fmt::format("candidate alpha {} must be finite and >= 0", a));
  if (!(r.share_tolerance >= 0)) throw Error("share tolerance must be >= 0");
}

// Everything of a run that does not change between steps.
struct Context {
  const PruneConfig& cfg;
  const hw::HardwareDefaults& defaults;
  const hw::Device& device;
  const data::Dataset& train;
  const data::Dataset& val;
  PruneObserver* obs;
  std::unique_ptr<hw::Objective> objective;
  structures::Plan plan;
  std::vector<double> layer_factor;  // regulariser strength per plan layer (relative)
  Metric metric = Metric::Accuracy;
  bool increasing = true;

  train::ProgressSink* progress() const { return obs ? obs->progress() : nullptr; }
  void message(const std::string& s) const {
    if (obs) obs->message(s);
  }

  train::TrainConfig train_config(uint64_t seed, int epochs) const {
    train::TrainConfig t = cfg.train;
    t.seed = seed;
    t.epochs = epochs;
    t.early_stopping_patience = 0;
    t.zero_dead_channels = cfg.zero_dead_channels;
    return t;
  }

  std::vector<train::GroupPenalty> penalties(double alpha) const {
    std::vector<train::GroupPenalty> p;
    if (alpha <= 0 && cfg.regularisation.beta <= 0) return p;
    for (size_t li = 0; li < plan.layers.size(); ++li)
      p.push_back({plan.layers[li].groups, alpha * layer_factor[li], cfg.regularisation.beta});
    return p;
  }

  double evaluate(train::Trainer& t) const { return metric_of(t.evaluate(val), metric); }

  std::vector<double> resources(const Model& m) const {
    return resources_of(m, *objective, defaults, device, /*sparse=*/true);
  }
};

// Groups whose every weight is masked (pruned before this step).
std::vector<uint8_t> dead_groups(const Model& m, const structures::Plan& plan) {
  std::vector<uint8_t> dead;
  for (const auto& lp : plan.layers) {
    const Layer& l = m.layer(lp.groups.layer_name);
    for (size_t g = 0; g < lp.groups.size(); ++g) {
      bool all = !l.mask.empty();
      if (all)
        for (int64_t idx : lp.groups.group(g))
          if (l.mask.data[idx] != 0.0f) {
            all = false;
            break;
          }
      dead.push_back(all ? 1 : 0);
    }
  }
  return dead;
}

knapsack::Solution solve(const knapsack::Problem& p, const PruneConfig& cfg) {
  if (cfg.greedy) return knapsack::solve_greedy(p);
  knapsack::Options o;
  o.time_limit_s = cfg.solver_time_limit;
  return knapsack::solve_exact(p, o);
}

double layer_baseline(const structures::LayerPlan& lp, size_t dims, size_t k) {
  double b = lp.costs.fixed[k];
  for (size_t g = 0; g < lp.groups.size(); ++g) b += lp.costs.cost[g * dims + k];
  return b;
}

std::vector<uint8_t> select_impl(const structures::Plan& plan,
                                 const std::vector<std::vector<double>>& importance,
                                 const std::vector<uint8_t>& dead, double target,
                                 const PruneConfig& cfg, bool* optimal = nullptr) {
  const size_t dims = plan.dimensions.size();
  std::vector<uint8_t> take;
  bool all_optimal = true;
  auto run = [&](const structures::Plan& p, const std::vector<std::vector<double>>& imp) {
    std::vector<double> budget(dims);
    for (size_t k = 0; k < dims; ++k)
      budget[k] = std::max((1.0 - target) * p.baseline[k], p.fixed[k]);
    const knapsack::Solution s = solve(structures::knapsack_problem(p, imp, budget), cfg);
    all_optimal = all_optimal && s.optimal;
    take.insert(take.end(), s.take.begin(), s.take.end());
  };
  if (cfg.local) {
    for (size_t li = 0; li < plan.layers.size(); ++li) {
      structures::Plan sub;
      sub.dimensions = plan.dimensions;
      sub.layers = {plan.layers[li]};
      sub.fixed = plan.layers[li].costs.fixed;
      sub.baseline.resize(dims);
      for (size_t k = 0; k < dims; ++k) sub.baseline[k] = layer_baseline(plan.layers[li], dims, k);
      run(sub, {importance[li]});
    }
  } else {
    run(plan, importance);
  }
  for (size_t i = 0; i < take.size(); ++i)
    if (dead[i]) take[i] = 0;
  if (optimal) *optimal = all_optimal;
  return take;
}

void apply_take(Model& m, const structures::Plan& plan, const std::vector<uint8_t>& take) {
  size_t off = 0;
  for (const auto& lp : plan.layers) {
    std::vector<uint8_t> keep(take.begin() + static_cast<long>(off),
                              take.begin() + static_cast<long>(off + lp.groups.size()));
    structures::apply_selection(m.layer(lp.groups.layer_name), lp.groups, keep);
    off += lp.groups.size();
  }
}

std::vector<std::vector<double>> ranked(const Context& cx, const Model& m, train::Trainer* scorer) {
  std::map<std::string, Tensor> scores;
  if (needs_data(cx.cfg.ranking)) {
    const auto kind =
        cx.cfg.ranking == Ranking::Oracle ? train::ScoreKind::Oracle : train::ScoreKind::Saliency;
    scores = scorer->weight_scores(cx.train, kind, cx.cfg.score_samples);
  }
  auto imp = group_importance(folded(m), cx.plan, cx.cfg.ranking, &scores);
  normalise_per_layer(imp);
  return imp;
}

// Weight sharing: kept groups whose weights have (nearly) one value, tied to their mean.
// Groups whose unmasked weights are all equal already count as tied.
std::vector<structures::GroupSet> shared_groups(Model& m, const Context& cx) {
  std::vector<structures::GroupSet> out;
  const double tol = cx.cfg.regularisation.share_tolerance;
  for (const auto& lp : cx.plan.layers) {
    Layer& l = m.layer(lp.groups.layer_name);
    Tensor& k = l.weight("kernel");
    structures::GroupSet tied = lp.groups;
    tied.offsets = {0};
    tied.members.clear();
    for (size_t g = 0; g < lp.groups.size(); ++g) {
      double sum = 0, sq = 0;
      int64_t n = 0;
      for (int64_t idx : lp.groups.group(g)) {
        if (!l.mask.empty() && l.mask.data[idx] == 0.0f) continue;
        sum += k.data[idx];
        sq += static_cast<double>(k.data[idx]) * k.data[idx];
        ++n;
      }
      if (n < 2) continue;
      const double mean = sum / n, var = std::max(0.0, sq / n - mean * mean);
      if (mean == 0 || std::sqrt(var) > tol * std::abs(mean)) continue;
      for (int64_t idx : lp.groups.group(g)) {
        if (!l.mask.empty() && l.mask.data[idx] == 0.0f) continue;
        k.data[idx] = static_cast<float>(mean);
        tied.members.push_back(idx);
      }
      tied.offsets.push_back(static_cast<int64_t>(tied.members.size()));
    }
    if (tied.size() > 0) out.push_back(std::move(tied));
  }
  return out;
}

// Fine-tunes m (masks in place) for `epochs`; returns the validation metric.
double fine_tune(Model& m, const Context& cx, uint64_t seed, int epochs, double alpha) {
  const auto& reg = cx.cfg.regularisation;
  std::vector<structures::GroupSet> tied;
  if (reg.beta > 0) tied = shared_groups(m, cx);
  train::Trainer t(m, cx.train_config(seed, epochs));
  if (reg.during_fine_tuning) t.set_regulariser(cx.penalties(alpha));
  for (const auto& g : tied) t.add_shared_groups(g);
  if (epochs > 0) t.fit(cx.train, nullptr, cx.progress());
  return cx.evaluate(t);
}

uint64_t trial_seed(uint64_t seed, int trial) {
  return seed + 7919ULL * static_cast<uint64_t>(trial);
}

json config_fingerprint(const Model& model, const Context& cx) {
  const PruneConfig& c = cx.cfg;
  const auto& r = c.regularisation;
  const auto& s = c.scheduler;
  return json{{"model", model.name},
              {"parameters", model.parameter_count()},
              {"train_samples", cx.train.size()},
              {"val_samples", cx.val.size()},
              {"objective", c.objective},
              {"bram_model", to_string(c.objective_options.bram)},
              {"rf", cx.defaults.reuse_factor},
              {"scheduler",
               {to_string(s.kind), s.initial_sparsity, s.final_sparsity, s.step, s.steps, s.power,
                s.min_step}},
              {"rtol", c.rtol},
              {"metric", to_string(cx.metric)},
              {"ranking", to_string(c.ranking)},
              {"local", c.local},
              {"greedy", c.greedy},
              {"epochs_per_step", c.epochs_per_step},
              {"rewind_epochs", c.rewind_epochs},
              {"final_epochs", c.final_epochs},
              {"max_bad_trials", c.max_bad_trials},
              {"regularisation",
               {r.epochs, r.alpha ? json(*r.alpha) : json(), r.candidates, r.search_epochs, r.beta,
                r.during_fine_tuning, r.share_tolerance}},
              {"train",
               {c.train.lr, c.train.batch_size, train::to_string(c.train.optimizer), c.train.seed,
                c.train.threads, c.train.quantize}},
              {"zero_dead_channels", c.zero_dead_channels}};
}

json row_json(const StepRow& r) {
  return {{"step", r.step},      {"target", r.target},     {"resources", r.resources},
          {"metric", r.metric},  {"accepted", r.accepted}, {"action", r.action},
          {"seconds", r.seconds}};
}

StepRow row_from(const json& j) {
  StepRow r;
  r.step = j.at("step");
  r.target = j.at("target");
  r.resources = j.at("resources").get<std::vector<double>>();
  r.metric = j.at("metric");
  r.accepted = j.at("accepted");
  r.action = j.at("action");
  r.seconds = j.at("seconds");
  return r;
}

const char* kStateKey = "prune.checkpoint";

// What a checkpoint holds besides the current model.
struct RunState {
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

void save_checkpoint(const std::string& path, Model current, const RunState& st,
                     const Scheduler& sched, const json& fingerprint) {
  json search = json::array();
  for (const auto& s : st.search) search.push_back({s.alpha, s.metric, s.acceptable, s.lost_mass});
  json rows = json::array();
  for (const auto& r : st.rows) rows.push_back(row_json(r));
  const json j{{"fingerprint", fingerprint},
               {"scheduler", sched.save()},
               {"next_target", st.next_target ? json(*st.next_target) : json()},
               {"trial", st.trial},
               {"bad_trials", st.bad_trials},
               {"any_accepted", st.any_accepted},
               {"finished", st.finished},
               {"best_metric", st.best_metric},
               {"final_sparsity", st.final_sparsity},
               {"alpha", st.alpha},
               {"baseline_metric", st.baseline_metric},
               {"search", search},
               {"rows", rows}};
  current.metadata[kStateKey] = j.dump();
  io::save_model(path, current);
}

// Loads a checkpoint into (current model, state, scheduler); Error if it belongs to another run.
Model load_checkpoint(const std::string& path, RunState& st, Scheduler& sched,
                      const json& fingerprint) {
  Model m = io::load_model(path);
  auto it = m.metadata.find(kStateKey);
  if (it == m.metadata.end())
    throw Error(fmt::format("{}: not a pruning checkpoint (no {} entry)", path, kStateKey));
  try {
    const json j = json::parse(it->second);
    if (j.at("fingerprint") != fingerprint) {
      std::string what;
      for (auto& [k, v] : fingerprint.items())
        if (!j.at("fingerprint").contains(k) || j.at("fingerprint").at(k) != v) {
          what = k;
          break;
        }
      throw Error(
          fmt::format("{}: checkpoint of a different run ({} differs); delete it or drop --resume",
                      path, what));
    }
    sched.load(j.at("scheduler").get<std::string>());
    st.next_target = j.at("next_target").is_null()
                         ? std::nullopt
                         : std::optional<double>(j.at("next_target").get<double>());
    st.trial = j.at("trial");
    st.bad_trials = j.at("bad_trials");
    st.any_accepted = j.at("any_accepted");
    st.finished = j.at("finished");
    st.best_metric = j.at("best_metric");
    st.final_sparsity = j.at("final_sparsity");
    st.alpha = j.at("alpha");
    st.baseline_metric = j.at("baseline_metric");
    for (const auto& s : j.at("search"))
      st.search.push_back({s.at(0).get<double>(), s.at(1).get<double>(), s.at(2).get<bool>(),
                           s.at(3).get<double>()});
    for (const auto& r : j.at("rows")) st.rows.push_back(row_from(r));
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: malformed pruning checkpoint ({})", path, e.what()));
  }
  m.metadata.erase(kStateKey);
  return m;
}

// Regularisation strength: the search trains each candidate briefly from the input model and
// scores it on the validation metric (must pass the tolerance) and on how little group-norm
// mass a knapsack at the final sparsity has to drop (the resource saving the regulariser made
// cheap). Returns the chosen alpha.
double search_alpha(const Model& input, const Context& cx, RunState& st) {
  const auto& reg = cx.cfg.regularisation;
  const double final_target = cx.cfg.scheduler.final_sparsity;
  std::optional<size_t> best;
  size_t best_metric_idx = 0;
  for (size_t ci = 0; ci < reg.candidates.size(); ++ci) {
    const double alpha = reg.candidates[ci];
    Model m = input;
    train::Trainer t(m,
                     cx.train_config(cx.cfg.train.seed + 104729ULL * (ci + 1), reg.search_epochs));
    t.set_regulariser(cx.penalties(alpha));
    t.fit(cx.train, nullptr, cx.progress());
    SearchRow row;
    row.alpha = alpha;
    row.metric = cx.evaluate(t);
    row.acceptable = acceptable(row.metric, st.baseline_metric, cx.cfg.rtol, cx.increasing);
    auto imp = group_importance(folded(m), cx.plan, Ranking::L2);
    normalise_per_layer(imp);
    PruneConfig greedy_cfg = cx.cfg;
    greedy_cfg.greedy = true;
    const std::vector<uint8_t> none(cx.plan.group_count(), 0);
    const auto take = select_impl(cx.plan, imp, none, final_target, greedy_cfg);
    double all = 0, kept = 0;
    size_t i = 0;
    for (const auto& layer : imp)
      for (double v : layer) {
        all += v;
        kept += take[i++] ? v : 0.0;
      }
    row.lost_mass = all > 0 ? 1.0 - kept / all : 0.0;
    st.search.push_back(row);
    if (cx.obs) cx.obs->search_row(row);
    if (row.acceptable && (!best || row.lost_mass < st.search[*best].lost_mass - 1e-12)) best = ci;
    const bool better = cx.increasing ? row.metric > st.search[best_metric_idx].metric
                                      : row.metric < st.search[best_metric_idx].metric;
    if (better) best_metric_idx = ci;
  }
  if (!best) {
    cx.message(fmt::format(
        "no regularisation strength kept the validation metric within the tolerance; using "
        "alpha {:g} (best metric)",
        reg.candidates[best_metric_idx]));
    return reg.candidates[best_metric_idx];
  }
  return reg.candidates[*best];
}

}  // namespace

std::vector<uint8_t> select_groups(const structures::Plan& plan,
                                   const std::vector<std::vector<double>>& importance,
                                   const std::vector<uint8_t>& dead, double target,
                                   const PruneConfig& config, bool* optimal) {
  if (dead.size() != plan.group_count())
    throw Error(fmt::format("{} dead flags for {} groups", dead.size(), plan.group_count()));
  if (!(target >= 0 && target <= 1))
    throw Error(fmt::format("target sparsity must be in [0, 1], got {}", target));
  return select_impl(plan, importance, dead, target, config, optimal);
}

structures::Plan prune_plan(const Model& model, const hw::Objective& objective,
                            const hw::HardwareDefaults& defaults, const hw::Device& device) {
  const Model base = folded(model);
  const hw::HardwareModel hwm = hw::resolve_hardware(base, defaults, device);
  if (hwm.layers.empty())
    throw Error(fmt::format("model '{}' has no Dense or Conv layer to prune", model.name));
  // The last weight layer's outputs are the classes: never remove its neurons.
  std::vector<std::string> frozen;
  if (objective.structure(hwm.layers.back()) == structures::GroupKind::Neuron)
    frozen.push_back(hwm.layers.back().name);
  structures::Plan plan = structures::make_plan(base, hwm, objective, frozen);
  if (plan.layers.empty())
    throw Error(fmt::format("model '{}': no layer can be pruned for objective {}", model.name,
                            objective.name()));
  // Pruning cannot lower a resource that no group pays for (e.g. ff when every multiplier is
  // a DSP, whose product register sits in the DSP48).
  const bool any_cost = std::any_of(plan.layers.begin(), plan.layers.end(), [](const auto& lp) {
    return std::any_of(lp.costs.cost.begin(), lp.costs.cost.end(), [](double c) { return c > 0; });
  });
  if (!any_cost)
    throw Error(fmt::format(
        "model '{}': objective {}: no weight group frees any {} at these hardware settings "
        "(docs/hardware-model.md); choose another objective",
        model.name, objective.name(), fmt::join(plan.dimensions, "/")));
  return plan;
}

std::vector<double> resources_of(const Model& model, const hw::Objective& objective,
                                 const hw::HardwareDefaults& defaults, const hw::Device& device,
                                 bool sparse) {
  const Model f = folded(model);
  return hw::model_resources(objective, f, hw::resolve_hardware(f, defaults, device), sparse);
}

Model reduce_for_hardware(const Model& model, const hw::Objective& objective,
                          const hw::HardwareDefaults& defaults, const hw::Device& device,
                          structures::ReduceReport* report) {
  const std::vector<double> before = resources_of(model, objective, defaults, device, true);
  const structures::ReduceAccept accept = [&](const Model& candidate) {
    std::vector<double> after;
    try {
      after = resources_of(candidate, objective, defaults, device, true);
    } catch (const Error&) {
      return false;  // e.g. a reuse factor that is no longer valid for the smaller shape
    }
    for (size_t k = 0; k < before.size(); ++k)
      if (after[k] > before[k] + 1e-9 * std::max(1.0, before[k])) return false;
    return true;
  };
  Model m = model;
  for (;;) {
    structures::ReduceReport round;
    Model next = structures::remove_zero_structures(m, accept, &round);
    if (report) {
      report->changes.insert(report->changes.end(), round.changes.begin(), round.changes.end());
      report->refused = round.refused;  // the last round's refusals are the ones that stand
    }
    if (round.changes.empty()) return m;
    m = std::move(next);
  }
}

Metric validate(const PruneConfig& cfg, data::Task task) {
  check_config(cfg);
  (void)hw::make_objective(cfg.objective, cfg.objective_options);
  (void)Scheduler(cfg.scheduler);
  const Metric metric = cfg.metric != Metric::Auto           ? cfg.metric
                        : task == data::Task::Classification ? Metric::Accuracy
                                                             : Metric::MSE;
  if (metric == Metric::Accuracy && task != data::Task::Classification)
    throw Error("accuracy does not apply to a regression model (use --metric mse or loss)");
  if (metric == Metric::MSE && task == data::Task::Classification)
    throw Error("mse does not apply to a classifier (use accuracy or loss)");
  const bool increasing = is_increasing(metric);
  if (increasing && cfg.rtol > 1)
    throw Error(fmt::format("rtol {} > 1 with an increasing metric ({}) can never pass", cfg.rtol,
                            to_string(metric)));
  if (!increasing && cfg.rtol < 1)
    throw Error(fmt::format(
        "rtol {} < 1 with a decreasing metric ({}): use a value >= 1, e.g. 1.02 (2% worse)",
        cfg.rtol, to_string(metric)));
  return metric;
}

PruneResult prune(const Model& model_in, const hw::HardwareDefaults& defaults,
                  const hw::Device& device, const data::Dataset& train_data,
                  const data::Dataset& val, const PruneConfig& cfg, PruneObserver* obs) {
  Model input = model_in;
  input.infer_shapes();
  Context cx{cfg, defaults, device, train_data, val, obs, nullptr, {}, {}, Metric::Accuracy, true};
  cx.objective = hw::make_objective(cfg.objective, cfg.objective_options);
  cx.metric = validate(cfg, input.task);
  cx.increasing = is_increasing(cx.metric);
  {
    const Model base = folded(input);
    const hw::HardwareModel hwm = hw::resolve_hardware(base, defaults, device);
    for (const auto& adj : hwm.adjustments) cx.message("note: " + adj);
  }
  cx.plan = prune_plan(input, *cx.objective, defaults, device);
  const size_t dims = cx.plan.dimensions.size();

  // Per-layer regulariser strength: a group that saves a larger share of the resources is
  // pushed harder (the mean over all groups is 1).
  {
    std::vector<double> share;
    double total = 0;
    size_t n = 0;
    for (const auto& lp : cx.plan.layers) {
      double s = 0;
      for (size_t g = 0; g < lp.groups.size(); ++g)
        for (size_t k = 0; k < dims; ++k)
          if (cx.plan.baseline[k] > 0)
            s += lp.costs.cost[g * dims + k] / cx.plan.baseline[k] / static_cast<double>(dims);
      total += s;
      n += lp.groups.size();
      share.push_back(lp.groups.size() ? s / static_cast<double>(lp.groups.size()) : 0.0);
    }
    const double mean = n ? total / static_cast<double>(n) : 0.0;
    for (double s : share) cx.layer_factor.push_back(mean > 0 ? s / mean : 1.0);
  }

  // The sparsity no selection can exceed (the fixed resources stay).
  SchedulerConfig sc = cfg.scheduler;
  double reachable = 1.0;
  for (size_t k = 0; k < dims; ++k)
    if (cx.plan.baseline[k] > 0)
      reachable = std::min(reachable, 1.0 - cx.plan.fixed[k] / cx.plan.baseline[k]);
  if (sc.final_sparsity > reachable + 1e-12) {
    cx.message(fmt::format(
        "final sparsity {:.4f} capped at {:.4f}: the rest of the {} is fixed (no group removes it)",
        sc.final_sparsity, reachable, cfg.objective));
    sc.final_sparsity = reachable;
  }
  Scheduler sched(sc);

  PruneResult res;
  res.dimensions = cx.plan.dimensions;
  res.baseline_resources = cx.plan.baseline;
  res.metric_name = std::string(to_string(cx.metric));
  const json fingerprint = config_fingerprint(input, cx);

  RunState st;
  Model current;
  // A finished row: its time, the observer, and a checkpoint of `current` and `st`.
  auto record = [&](StepRow& row, Clock::time_point t0) {
    row.seconds = since(t0);
    st.rows.push_back(row);
    if (obs) obs->step_row(row);
    if (!cfg.checkpoint.empty()) {
      save_checkpoint(cfg.checkpoint, current, st, sched, fingerprint);
      if (obs) obs->checkpoint_written(row.step);
    }
  };
  const bool resuming =
      cfg.resume && !cfg.checkpoint.empty() && std::filesystem::exists(cfg.checkpoint);
  if (resuming) {
    current = load_checkpoint(cfg.checkpoint, st, sched, fingerprint);
    res.resumed = true;
    cx.message(fmt::format("resumed from {} after step {}", cfg.checkpoint, st.trial));
  } else {
    {
      Model probe = input;
      train::Trainer t(probe, cx.train_config(cfg.train.seed, 0));
      st.baseline_metric = cx.evaluate(t);
    }
    const auto t0 = Clock::now();
    const auto& reg = cfg.regularisation;
    st.alpha = reg.alpha.value_or(0.0);
    if (!reg.alpha && reg.epochs > 0) st.alpha = search_alpha(input, cx, st);
    current = input;
    StepRow row;
    row.step = 0;
    row.target = sc.initial_sparsity;
    if (reg.epochs > 0 && (st.alpha > 0 || reg.beta > 0)) {
      train::Trainer t(current, cx.train_config(trial_seed(cfg.train.seed, 0), reg.epochs));
      t.set_regulariser(cx.penalties(st.alpha));
      t.fit(train_data, nullptr, cx.progress());
      row.metric = cx.evaluate(t);
      row.action = fmt::format("regularised (alpha {:g})", st.alpha);
    } else {
      row.metric = st.baseline_metric;
      row.action = "baseline";
    }
    row.resources = cx.resources(current);
    row.accepted = true;
    st.next_target = sched.first();
    record(row, t0);
  }
  res.baseline_metric = st.baseline_metric;

  while (st.next_target) {
    const double target = *st.next_target;
    const auto t0 = Clock::now();
    ++st.trial;
    const uint64_t seed = trial_seed(cfg.train.seed, st.trial);
    Model m = current;
    if (cfg.rewind_epochs > 0) {
      for (const auto& lp : cx.plan.layers) m.layer(lp.groups.layer_name).mask = Tensor{};
      train::Trainer t(m, cx.train_config(seed ^ 0x9E3779B97F4A7C15ULL, cfg.rewind_epochs));
      t.set_regulariser(cx.penalties(st.alpha));
      t.fit(train_data, nullptr, cx.progress());
    }
    std::vector<std::vector<double>> imp;
    if (needs_data(cfg.ranking)) {
      Model scratch = m;
      train::Trainer scorer(scratch, cx.train_config(seed, 0));
      imp = ranked(cx, m, &scorer);
    } else {
      imp = ranked(cx, m, nullptr);
    }
    bool optimal = true;
    const auto take = select_impl(cx.plan, imp, dead_groups(m, cx.plan), target, cfg, &optimal);
    apply_take(m, cx.plan, take);
    StepRow row;
    row.step = st.trial;
    row.target = target;
    row.metric = fine_tune(m, cx, seed, cfg.epochs_per_step, st.alpha);
    row.resources = cx.resources(m);
    row.accepted = acceptable(row.metric, st.baseline_metric, cfg.rtol, cx.increasing);
    if (row.accepted) {
      current = std::move(m);
      st.any_accepted = true;
      st.best_metric = row.metric;
      st.final_sparsity = target;
      st.next_target = sched.accepted(target);
      row.action = "accepted";
    } else {
      ++st.bad_trials;
      st.next_target = st.bad_trials >= cfg.max_bad_trials ? std::nullopt : sched.rejected(target);
      row.action = st.next_target ? fmt::format("repair -> {:.4f}", *st.next_target)
                   : st.bad_trials >= cfg.max_bad_trials
                       ? fmt::format("stop ({} bad trials)", st.bad_trials)
                       : std::string("stop");
    }
    if (!optimal) row.action += " (knapsack not proven optimal)";
    record(row, t0);
  }

  // Final fine-tuning of the result with its masks; kept only if the validation metric does
  // not get worse.
  if (st.any_accepted && cfg.final_epochs > 0 && !st.finished) {
    const auto t0 = Clock::now();
    Model m = current;
    StepRow row;
    row.step = st.trial + 1;
    row.target = st.final_sparsity;
    row.metric =
        fine_tune(m, cx, trial_seed(cfg.train.seed, st.trial + 1), cfg.final_epochs, st.alpha);
    row.resources = cx.resources(m);
    const bool better = cx.increasing ? row.metric >= st.best_metric : row.metric <= st.best_metric;
    row.accepted = better;
    row.action =
        better ? fmt::format("final fine-tuning ({} epochs) kept", cfg.final_epochs)
               : fmt::format("final fine-tuning ({} epochs) discarded (worse)", cfg.final_epochs);
    if (better) {
      current = std::move(m);
      st.best_metric = row.metric;
    }
    st.finished = true;
    record(row, t0);
  }

  res.any_accepted = st.any_accepted;
  res.model = st.any_accepted ? current : input;
  res.final_metric = st.any_accepted ? st.best_metric : st.baseline_metric;
  res.final_resources = cx.resources(res.model);
  res.final_sparsity = st.any_accepted ? st.final_sparsity : 0.0;
  res.alpha = st.alpha;
  res.search = st.search;
  res.rows = st.rows;
  return res;
}

}  // namespace hwprune::prune
