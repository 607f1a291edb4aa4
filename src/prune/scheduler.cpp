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
  hi_ = c.final_sparsity;
  step_ = c.step;
  plan_from_ = c.initial_sparsity;
  plan_steps_ = c.steps;
  k_ = 0;
}

std::optional<double> Scheduler::above_lo(double target) const {
  target = std::min(target, cfg_.final_sparsity);
  // A target that is (numerically) the final sparsity is always worth trying once.
  const bool is_final = std::abs(target - cfg_.final_sparsity) < 1e-12 && lo_ < target - 1e-12;
  if (!is_final && target - lo_ < cfg_.min_step - 1e-12) return std::nullopt;
  return target;
}

std::optional<double> Scheduler::planned(int k) const {
  if (k > plan_steps_) return std::nullopt;
  const double frac = 1.0 - static_cast<double>(k) / plan_steps_;
  return hi_ + (plan_from_ - hi_) * std::pow(frac, cfg_.power);
}

std::optional<double> Scheduler::next_planned() {
  // Skip planned targets closer than min_step to the last accepted one (possible with many
  // steps), but never the end of the plan.
  for (int k = k_ + 1; k <= plan_steps_; ++k)
    if (auto t = planned(k);
        t && (*t - lo_ >= cfg_.min_step - 1e-12 || (k == plan_steps_ && *t > lo_ + 1e-12))) {
      k_ = k;
      return t;
    }
  return std::nullopt;
}

std::optional<double> Scheduler::first() {
  switch (cfg_.kind) {
    case SchedulerKind::Constant:
      return above_lo(lo_ + step_);
    case SchedulerKind::Polynomial:
      return next_planned();
    case SchedulerKind::Binary:
      if (hi_ - lo_ < cfg_.min_step - 1e-12) return std::nullopt;
      return 0.5 * (lo_ + hi_);
  }
  return std::nullopt;
}

std::optional<double> Scheduler::accepted(double target) {
  lo_ = std::max(lo_, target);
  switch (cfg_.kind) {
    case SchedulerKind::Constant:
      if (lo_ >= cfg_.final_sparsity - 1e-12) return std::nullopt;
      return above_lo(lo_ + step_);
    case SchedulerKind::Polynomial:
      return next_planned();
    case SchedulerKind::Binary:
      return first();
  }
  return std::nullopt;
}

std::optional<double> Scheduler::rejected(double target) {
  switch (cfg_.kind) {
    case SchedulerKind::Constant:
      step_ *= 0.5;
      if (step_ < cfg_.min_step - 1e-12) return std::nullopt;
      return above_lo(lo_ + step_);
    case SchedulerKind::Polynomial: {
      const int left = std::max(1, plan_steps_ - k_ + 1);
      plan_from_ = lo_;
      hi_ = 0.5 * (lo_ + target);
      plan_steps_ = left;
      k_ = 0;
      if (hi_ - lo_ < cfg_.min_step - 1e-12) return std::nullopt;
      return first();
    }
    case SchedulerKind::Binary:
      hi_ = std::min(hi_, target);
      return first();
  }
  return std::nullopt;
}

std::string Scheduler::save() const {
  return nlohmann::json{{"kind", to_string(cfg_.kind)},
                        {"lo", lo_},
                        {"hi", hi_},
                        {"step", step_},
                        {"plan_from", plan_from_},
                        {"plan_steps", plan_steps_},
                        {"k", k_}}
      .dump();
}

void Scheduler::load(const std::string& state) {
  try {
    const auto j = nlohmann::json::parse(state);
    if (j.at("kind").get<std::string>() != to_string(cfg_.kind))
      throw Error(fmt::format("scheduler state is for a {} scheduler, not {}",
                              j.at("kind").get<std::string>(), to_string(cfg_.kind)));
    lo_ = j.at("lo").get<double>();
    hi_ = j.at("hi").get<double>();
    step_ = j.at("step").get<double>();
    plan_from_ = j.at("plan_from").get<double>();
    plan_steps_ = j.at("plan_steps").get<int>();
    k_ = j.at("k").get<int>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("malformed scheduler state ({})", e.what()));
  }
}

}  // namespace hwprune::prune
