// Multiple-choice multi-dimensional knapsack: every group takes exactly one of its options
// (e.g. pruned / a narrow LUT multiplier / a full-width DSP), the summed value is maximal and
// the summed weights stay within the capacity in every dimension. Needs nothing but the
// problem; the feasibility rule is the 0/1 solver's (knapsack.hpp, kFeasTol).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hwprune/knapsack/knapsack.hpp"

namespace hwprune::knapsack {

// max sum_o value[o] x[o]  s.t.  sum_o weight[o * n_dims + k] x[o] <= capacity[k] for all k,
// sum_{o in group g} x[o] = 1 for every group, x[o] in {0, 1}.
struct ChoiceProblem {
  std::size_t n_dims = 0;
  std::vector<std::size_t> offsets{
      0};                        // groups + 1: group g owns options [offsets[g], offsets[g+1])
  std::vector<double> value;     // per option; finite, any sign
  std::vector<double> weight;    // options * n_dims, option-major; finite, >= 0
  std::vector<double> capacity;  // n_dims; finite, >= 0

  std::size_t n_groups() const { return offsets.empty() ? 0 : offsets.size() - 1; }
  std::size_t n_options() const { return value.size(); }
};

// Throws hwprune::Error naming the group/option/dimension and the value at fault.
void validate(const ChoiceProblem& problem);

// True when `choice` (one option index per group, each inside its group) fits every capacity
// under the rule of effective_capacity.
bool feasible(const ChoiceProblem& problem, const std::vector<std::size_t>& choice);

// Summed value of the chosen options, added in group order.
double value_of(const ChoiceProblem& problem, const std::vector<std::size_t>& choice);

struct ChoiceSolution {
  std::vector<std::size_t> choice;  // per group: the chosen option (an index into value)
  double value = 0;                 // value_of(choice)
  double upper_bound = 0;           // proven upper bound on the optimum (== value when optimal)
  bool optimal = false;             // proven optimal within Options::rel_gap
  std::string method;               // "empty", "branch-and-bound", "greedy"
  std::uint64_t nodes = 0;          // branch-and-bound nodes
  double seconds = 0;
  double gap() const;  // (upper_bound - value) / max(1, |upper_bound|)
};

// Exact: dominated options removed, a Lagrangian bound (multipliers by subgradient descent)
// and depth-first branch-and-bound from the greedy incumbent. On the time limit it returns the
// best choice found with the proven bound. Error when no choice fits the capacities.
ChoiceSolution solve_choice_exact(const ChoiceProblem& problem, const Options& options = {});

// For huge instances: the Lagrangian choice repaired to feasibility and improved by greedy
// upgrades; upper_bound is the Lagrangian bound. Error when it finds no choice that fits.
ChoiceSolution solve_choice_greedy(const ChoiceProblem& problem);

// Coupled by class (hwprune's `layer` width granularity: one width per layer): group g belongs
// to class group_class[g], option o carries label option_label[o] (0: free, e.g. pruned).
// Every class takes one non-zero label, and its groups only options labelled 0 or that label.
// Exact by enumeration: every assignment of labels to classes (at most
// kMaxClassAssignments, else Error) gets the greedy's Lagrangian bound and incumbent; the
// assignments are then solved (exact or greedy) best bound first until no remaining bound
// beats the best value. On the time limit (over all solves) it returns the best found with
// the proven bound. Error for sizes that do not match, or when no assignment fits.
inline constexpr std::size_t kMaxClassAssignments = 4096;
struct ClassCoupling {
  std::vector<std::size_t> group_class;  // per group
  std::vector<int> option_label;         // per option, >= 0
};
// The solution's nodes sum those of the solves; its method reads
// "classes: <solved> of <assignments> assignments solved".
ChoiceSolution solve_choice_by_class(const ChoiceProblem& problem, const ClassCoupling& coupling,
                                     const Options& options = {}, bool greedy = false);

// CPLEX LP text for cbc: variables x0..x{options-1}, a row g<i> (= 1) per group and c<k>
// (<= capacity) per dimension, numbers printed exactly.
std::string to_lp(const ChoiceProblem& problem);

}  // namespace hwprune::knapsack
