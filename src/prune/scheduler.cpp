// Constant, polynomial and binary-search sparsity schedules with their repair steps.
#include "hwprune/prune/scheduler.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hwprune/util/error.hpp"

namespace hwprune::prune {

Scheduler::Scheduler(SchedulerConfig c) : cfg_(c) {
  auto in01 = [](double v) { return std::isfinite(v) && v >= 0 && v <= 1; };
  if (!in01(c.initial_sparsity) || !in01(c.final_sparsity))
    throw Error(fmt::format("sparsities must be in [0, 1]: initial {}, final {}",
                            c.initial_sparsity, c.final_sparsity));
  if (!(c.final_sparsity > c.initial_sparsity))
    throw Error(fmt::format("final sparsity {} must exceed the initial sparsity {}",
                            c.final_sparsity, c.initial_sparsity));
  if (!(c.min_step > 0 && c.min_step < 1))
    throw Error(fmt::format("minimum step must be in (0, 1), got {}", c.min_step));
  if (c.kind == SchedulerKind::Constant && !(c.step > 0 && c.step <= 1))
    throw Error(fmt::format("constant scheduler: step must be in (0, 1], got {}", c.step));
  if (c.kind == SchedulerKind::Polynomial && c.steps < 1)
    throw Error(fmt::format("polynomial scheduler: steps must be >= 1, got {}", c.steps));
  if (c.kind == SchedulerKind::Polynomial && !(c.power > 0 && std::isfinite(c.power)))
    throw Error(fmt::format("polynomial scheduler: power must be > 0, got {}", c.power));
  lo_ = c.initial_sparsity;
}

std::optional<double> Scheduler::above_lo(double target) const {
  target = std::min(target, cfg_.final_sparsity);
  // A target that is (numerically) the final sparsity is always worth trying once.
  const bool is_final = std::abs(target - cfg_.final_sparsity) < 1e-12 && lo_ < target - 1e-12;
  if (!is_final && target - lo_ < cfg_.min_step - 1e-12) return std::nullopt;
  return target;
}

std::optional<double> Scheduler::planned(int k) const {
  if (k > cfg_.steps) return std::nullopt;
  const double frac = 1.0 - static_cast<double>(k) / cfg_.steps;
  return cfg_.final_sparsity +
         (cfg_.initial_sparsity - cfg_.final_sparsity) * std::pow(frac, cfg_.power);
}

std::optional<double> Scheduler::next_planned() {
  // Skip planned targets closer than min_step to the last accepted one (possible with many
  // steps), but never the end of the plan.
  for (int k = k_ + 1; k <= cfg_.steps; ++k)
    if (auto t = planned(k);
        t && (*t - lo_ >= cfg_.min_step - 1e-12 || (k == cfg_.steps && *t > lo_ + 1e-12))) {
      k_ = k;
      return t;
    }
  return std::nullopt;
}

std::optional<double> Scheduler::scheduled() {
  switch (cfg_.kind) {
    case SchedulerKind::Constant:
      if (lo_ >= cfg_.final_sparsity - 1e-12) return std::nullopt;
      return above_lo(lo_ + cfg_.step);
    case SchedulerKind::Polynomial:
      return next_planned();
    case SchedulerKind::Binary:
      if (cfg_.final_sparsity - lo_ < cfg_.min_step - 1e-12) return std::nullopt;
      return 0.5 * (lo_ + cfg_.final_sparsity);
  }
  return std::nullopt;
}

std::optional<double> Scheduler::bisect() const {
  if (failed_ - lo_ < cfg_.min_step - 1e-12) return std::nullopt;
  return 0.5 * (lo_ + failed_);
}

std::optional<double> Scheduler::failed() const {
  if (failed_ < 0) return std::nullopt;
  return failed_;
}

std::optional<double> Scheduler::first() {
  return failed_ < 0 ? scheduled() : bisect();
}

std::optional<double> Scheduler::accepted(double target, bool clearly) {
  lo_ = std::max(lo_, target);
  if (failed_ < 0) return scheduled();
  if (lo_ >= failed_ - 1e-12) {  // passed the failed target: the schedule goes on
    failed_ = -1;
    return scheduled();
  }
  if (clearly) return failed_;  // try the failed target again from this model
  return bisect();
}

std::optional<double> Scheduler::rejected(double target) {
  failed_ = failed_ < 0 ? target : std::min(failed_, target);
  return bisect();
}

std::string Scheduler::save() const {
  return nlohmann::json{{"kind", to_string(cfg_.kind)}, {"lo", lo_}, {"failed", failed_}, {"k", k_}}
      .dump();
}

void Scheduler::load(const std::string& state) {
  try {
    const auto j = nlohmann::json::parse(state);
    if (j.at("kind").get<std::string>() != to_string(cfg_.kind))
      throw Error(fmt::format("scheduler state is for a {} scheduler, not {}",
                              j.at("kind").get<std::string>(), to_string(cfg_.kind)));
    lo_ = j.at("lo").get<double>();
    failed_ = j.at("failed").get<double>();
    k_ = j.at("k").get<int>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("malformed scheduler state ({})", e.what()));
  }
}

}  // namespace hwprune::prune
