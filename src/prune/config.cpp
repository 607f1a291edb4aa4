// Validation and the JSON form of a pruning run's configuration (see config.hpp).
#include "hwprune/prune/config.hpp"

#include <cmath>

#include <fmt/format.h>

#include "hwprune/hw/widths.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::prune {

using nlohmann::json;

bool acceptable(double value, double baseline, double rtol, bool increasing) {
  if (!std::isfinite(value)) return false;
  return increasing ? value >= rtol * baseline : value <= rtol * baseline;
}

namespace {

void check_loop(const PruneConfig& c) {
  if (c.epochs_per_step < 0 || c.rewind_epochs < 0 || c.final_epochs < 0)
    throw Error("epochs per step, rewinding and final epochs must be >= 0");
  if (c.patience < 0) throw Error(fmt::format("patience must be >= 0, got {}", c.patience));
  if (!(c.min_improvement >= 0 && std::isfinite(c.min_improvement)))
    throw Error(fmt::format("minimum improvement must be >= 0, got {}", c.min_improvement));
  if (c.max_bad_trials < 0)
    throw Error(fmt::format("max bad trials must be >= 0 (0: no cap), got {}", c.max_bad_trials));
  if (c.rtol && (!(*c.rtol > 0) || !std::isfinite(*c.rtol)))
    throw Error(fmt::format("rtol must be > 0, got {}", *c.rtol));
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
  if (c.lut_budget && !(*c.lut_budget >= 0 && std::isfinite(*c.lut_budget)))
    throw Error(fmt::format("LUT budget must be finite and >= 0, got {}", *c.lut_budget));
  if (c.lut_budget && c.widths.empty())
    throw Error("a LUT budget applies to joint pruning and precision: give --widths too");
  if (c.lut_budget && c.objective != "dsp-lut")
    throw Error(
        fmt::format("a LUT budget is a budget of the dsp-lut objective, not of {}", c.objective));
  const double rate = c.objective_options.lut_per_dsp;
  if (!(rate > 0 && std::isfinite(rate)))
    throw Error(fmt::format("LUTs per DSP must be finite and > 0, got {}", rate));
  if (c.width_granularity != WidthGranularity::Group && c.widths.empty())
    throw Error(
        fmt::format("width granularity {} applies to joint pruning and precision: give "
                    "--widths too",
                    kWidthGranularityNames.name(c.width_granularity)));
  if (c.widths.empty()) return;
  hw::check_widths(c.widths);
  if (c.objective != "dsp-lut" && c.objective != "lut-eq")
    throw Error(fmt::format(
        "per-group widths (--widths) need the dsp-lut or lut-eq objective, not {}", c.objective));
  if (c.ranking != Ranking::Saliency)
    throw Error(
        fmt::format("per-group widths are ranked by the empirical Fisher: use --ranking "
                    "saliency, not {}",
                    to_string(c.ranking)));
  if (c.local) throw Error("per-group widths need one global knapsack (no --local)");
}

template <typename T>
json optional_json(const std::optional<T>& v) {
  return v ? json(*v) : json();
}

}  // namespace

Metric validate(const PruneConfig& cfg, Task task) {
  check_loop(cfg);
  (void)hw::make_objective(cfg.objective, cfg.objective_options);
  (void)Scheduler(cfg.scheduler);
  const Metric metric = cfg.metric != Metric::Auto     ? cfg.metric
                        : task == Task::Classification ? Metric::Accuracy
                                                       : Metric::MSE;
  if ((metric == Metric::Accuracy || metric == Metric::BalancedAccuracy) &&
      task != Task::Classification)
    throw Error(fmt::format("{} does not apply to a regression model (use --metric mse or loss)",
                            to_string(metric)));
  if (metric == Metric::MSE && task == Task::Classification)
    throw Error("mse does not apply to a classifier (use accuracy or loss)");
  const bool increasing = is_increasing(metric);
  if (cfg.class_floor && !increasing)
    throw Error(fmt::format("a class floor needs an accuracy metric, not {}", to_string(metric)));
  if (cfg.class_floor && !(*cfg.class_floor > 0 && *cfg.class_floor <= 1))
    throw Error(fmt::format("class floor must be in (0, 1], got {}", *cfg.class_floor));
  const double rtol = resolved_rtol(cfg, metric);
  if (increasing && rtol > 1)
    throw Error(fmt::format("rtol {} > 1 with an increasing metric ({}) can never pass", rtol,
                            to_string(metric)));
  if (!increasing && rtol < 1)
    throw Error(fmt::format(
        "rtol {} < 1 with a decreasing metric ({}): use a value >= 1, e.g. 1.02 (2% worse)", rtol,
        to_string(metric)));
  return metric;
}

double resolved_rtol(const PruneConfig& config, Metric metric) {
  return config.rtol.value_or(is_increasing(metric) ? 0.99 : 1.02);
}

json to_json(const PipelineConfig& c) {
  const auto& in = c.inputs;
  const auto& hd = c.hardware.defaults;
  const auto& dev = c.hardware.device;
  const auto& p = c.prune;
  const auto& s = p.scheduler;
  const auto& r = p.regularisation;
  const auto& t = p.train;
  auto strategy = [](const std::optional<Strategy>& v) { return v ? json(to_string(*v)) : json(); };
  auto io_type = [](const std::optional<IoType>& v) { return v ? json(to_string(*v)) : json(); };
  return json{// inputs
              {"model", in.source.model},
              {"weights", in.source.weights},
              {"hls_config", in.source.hls_config},
              {"data", in.data},
              {"test_data", in.test_data},
              {"precision", in.precision},
              {"task", in.task ? json(to_string(*in.task)) : json()},
              {"test_split", in.test_split},
              {"val_split", in.val_split},
              {"split_seed", in.seed},
              // hardware (rf/strategy/io_type/pf: requested for every layer; *_default: for layers
              // without their own)
              {"rf", optional_json(hd.overrides.reuse_factor)},
              {"strategy", strategy(hd.overrides.strategy)},
              {"io_type", io_type(hd.overrides.io_type)},
              {"pf", optional_json(hd.overrides.parallelization_factor)},
              {"rf_default", hd.reuse_factor},
              {"strategy_default", strategy(hd.strategy)},
              {"io_type_default", to_string(hd.io_type)},
              {"pf_default", hd.parallelization_factor},
              {"closest_rf", hd.closest_valid_rf},
              {"family", dev.family},
              {"dsp_threshold", dev.dsp_min_weight_bits},
              // baseline
              {"baseline_epochs", c.baseline.epochs},
              {"baseline_lr", c.baseline.lr},
              {"baseline_schedule", train::to_string(c.baseline.schedule)},
              // the loop
              {"objective", p.objective},
              {"bram_model", hw::to_string(p.objective_options.bram)},
              {"lut_per_dsp", p.objective_options.lut_per_dsp},
              {"scheduler", to_string(s.kind)},
              {"initial_sparsity", s.initial_sparsity},
              {"final_sparsity", s.final_sparsity},
              {"step", s.step},
              {"steps", s.steps},
              {"power", s.power},
              {"min_step", s.min_step},
              {"rtol", optional_json(p.rtol)},
              {"metric", to_string(p.metric)},
              {"class_floor", optional_json(p.class_floor)},
              {"ranking", to_string(p.ranking)},
              {"local", p.local},
              {"widths", p.widths},
              {"width_granularity", kWidthGranularityNames.name(p.width_granularity)},
              {"lut_budget", optional_json(p.lut_budget)},
              {"solver", kSolverNames.name(p.greedy)},
              {"solver_time_limit", p.solver_time_limit},
              {"epochs_per_step", p.epochs_per_step},
              {"patience", p.patience},
              {"min_improvement", p.min_improvement},
              {"rewind_epochs", p.rewind_epochs},
              {"final_epochs", p.final_epochs},
              {"max_bad_trials", p.max_bad_trials},
              {"score_samples", p.score_samples},
              {"reg_epochs", r.epochs},
              {"alpha", optional_json(r.alpha)},
              {"alpha_candidates", r.candidates},
              {"search_epochs", r.search_epochs},
              {"beta", r.beta},
              {"reg_fine_tune", r.during_fine_tuning},
              {"share_tolerance", r.share_tolerance},
              {"keep_dead_biases", !p.zero_dead_channels},
              // training
              {"seed", t.seed},
              {"lr", t.lr},
              {"schedule", train::to_string(t.schedule)},
              {"lr_step", t.lr_step_epochs},
              {"lr_gamma", t.lr_gamma},
              {"lr_min", t.lr_min},
              {"batch_size", t.batch_size},
              {"optimizer", train::to_string(t.optimizer)},
              {"momentum", t.momentum},
              {"weight_decay", t.weight_decay},
              {"gradient", train::to_string(t.gradient_rule)},
              {"overflow_penalty", t.overflow_penalty},
              {"distill", t.distill_weight},
              {"distill_temperature", t.distill_temperature},
              {"quantize", t.quantize},
              {"loss", t.loss == train::LossKind::Auto           ? "auto"
                       : t.loss == train::LossKind::CrossEntropy ? "cross-entropy"
                                                                 : "mse"},
              {"threads", t.threads},
              // the result
              {"reduce", c.reduce},
              {"fit_integer_bits", c.fit_integer_bits}};
}

}  // namespace hwprune::prune
