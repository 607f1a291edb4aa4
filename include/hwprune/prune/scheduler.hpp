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
    {{{"constant", SchedulerKind::Constant, "initial + k * step"},
      {"polynomial", SchedulerKind::Polynomial, "Zhu & Gupta's cubic schedule (large steps first)"},
      {"binary", SchedulerKind::Binary, "bisection of [initial, final]"}}}};
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
  // Resolution: a repair search stops when the failed target is less than this above the
  // last accepted sparsity; planned targets closer than this to it are skipped.
  double min_step = 0.01;
};

// Targets while nothing has failed:
// Constant    initial + step, + 2 step, ... (the last one clipped to final).
// Polynomial  s_k = final + (initial - final) * (1 - k / steps)^power, k = 1..steps (large
//             steps first, small ones near the end); planned targets closer than min_step
//             above the last accepted sparsity are skipped, the end of the plan never.
// Binary      bisection of [last accepted, final].
// Repair, the same for every scheduler: a rejected target becomes the failed target, and the
// next target is the midpoint of the last accepted sparsity and the failed target (binary
// search). The failed target is not a ceiling: after a step accepted *clearly* (its metric
// beyond the threshold by more than its noise, see the pruning loop), the failed target is
// tried again from that model; once a target at or above it passes, the schedule continues
// past it. The search stops (nullopt) when a target fails less than min_step above the last
// accepted sparsity (or the schedule reaches final). Every failure either halves the
// interval or follows a clear acceptance that did, so a search takes at most about
// 2 log2(interval / min_step) trials.
class Scheduler {
 public:
  explicit Scheduler(SchedulerConfig config);  // Error on an invalid configuration

  std::optional<double> first();  // the first target
  // After `target` was accepted (`clearly`: with a margin beyond its noise): the next one.
  std::optional<double> accepted(double target, bool clearly = false);
  std::optional<double> rejected(double target);  // after target was rejected: the repair
  double last_accepted() const { return lo_; }
  std::optional<double> failed() const;  // the failed target the search is below, if any

  // The scheduler's state as a JSON text and back (for checkpoints).
  std::string save() const;
  void load(const std::string& state);  // Error if it does not belong to this configuration

  const SchedulerConfig& config() const { return cfg_; }

 private:
  std::optional<double> planned(int k) const;  // polynomial target k
  std::optional<double> next_planned();        // the next polynomial target worth a step
  std::optional<double> above_lo(double target) const;
  std::optional<double> scheduled();  // the next target with no failed target pending
  std::optional<double> bisect() const;

  SchedulerConfig cfg_;
  double lo_ = 0;       // last accepted sparsity
  double failed_ = -1;  // the failed target the repair search is below (-1: none)
  int k_ = 0;           // polynomial: index of the last planned target given
};

}  // namespace hwprune::prune
