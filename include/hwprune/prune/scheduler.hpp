// Sparsity schedulers of the pruning loop: which target sparsity to try next after a step
// was accepted, and the repair step after one was rejected (the validation metric fell
// below the tolerance). Pure logic, serialisable, so a resumed run continues exactly.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "hwprune/util/names.hpp"

namespace hwprune::prune {

enum class SchedulerKind { Constant, Polynomial, Binary };
inline constexpr NameTable<SchedulerKind, 3> kSchedulerNames{
    "scheduler",
    {{{"constant", SchedulerKind::Constant, "initial + k * step; repair: halve the step"},
      {"polynomial", SchedulerKind::Polynomial,
       "Zhu & Gupta's cubic schedule; repair: re-plan to the midpoint"},
      {"binary", SchedulerKind::Binary, "bisection between accepted and rejected targets"}}}};
inline std::string_view to_string(SchedulerKind k) {
  return kSchedulerNames.name(k);
}
inline SchedulerKind parse_scheduler(std::string_view s) {  // Error listing the known names
  return kSchedulerNames.parse(s);
}

struct SchedulerConfig {
  SchedulerKind kind = SchedulerKind::Polynomial;
  double initial_sparsity = 0.0;  // the sparsity of the starting model
  double final_sparsity = 0.9;    // never exceeded
  double step = 0.1;              // constant: sparsity added per accepted step
  int steps = 8;                  // polynomial: number of steps from initial to final
  double power = 3.0;             // polynomial: exponent (Zhu & Gupta use 3)
  // Resolution: the constant scheduler stops repairing when its halved step falls below
  // it, the polynomial one when the remaining range does, binary search when its interval does.
  double min_step = 0.01;
};

// Constant    targets initial + step, + 2 step, ... (the last one clipped to final).
//             Repair after a rejected target: halve the step and try last accepted + step.
// Polynomial  targets s_k = final + (initial - final) * (1 - k / steps)^power, k = 1..steps
//             (large steps first, small ones near the end). Repair: the rejected target is
//             out of reach, so the rest of the schedule is re-planned from the last accepted
//             sparsity to the midpoint between it and the rejected target, over the steps
//             that were left (at least one).
// Binary      bisection of [initial, final]: try the midpoint of the interval; an accepted
//             target raises the lower end, a rejected one lowers the upper end.
// Every scheduler stops (returns nullopt) when the next target would not exceed the last
// accepted sparsity by at least min_step (binary: when the interval is narrower than it);
// the polynomial scheduler skips intermediate targets closer than min_step but always
// tries the end of its plan.
class Scheduler {
 public:
  explicit Scheduler(SchedulerConfig config);  // Error on an invalid configuration

  std::optional<double> first();                  // the first target
  std::optional<double> accepted(double target);  // after target was accepted: the next one
  std::optional<double> rejected(double target);  // after target was rejected: the repair
  double last_accepted() const { return lo_; }

  // The scheduler's state as a JSON text and back (for checkpoints).
  std::string save() const;
  void load(const std::string& state);  // Error if it does not belong to this configuration

  const SchedulerConfig& config() const { return cfg_; }

 private:
  std::optional<double> planned(int k) const;  // polynomial target k of the current plan
  std::optional<double> next_planned();        // the next polynomial target worth a step
  std::optional<double> above_lo(double target) const;

  SchedulerConfig cfg_;
  double lo_ = 0;         // last accepted sparsity
  double hi_ = 0;         // binary: upper end; polynomial: the current plan's final sparsity
  double step_ = 0;       // constant: current step
  double plan_from_ = 0;  // polynomial: start of the current plan
  int plan_steps_ = 0;    // polynomial: steps in the current plan
  int k_ = 0;             // polynomial: index of the last target given in the current plan
};

}  // namespace hwprune::prune
