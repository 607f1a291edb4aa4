// The pruning plan and the knapsack step's choice: which groups of which layers the loop
// prunes and what each costs (prune_plan), how hard the regulariser pushes each layer, the
// sparsity the plan can reach, the objective's resources of a model, and the groups a
// knapsack keeps at a target sparsity (select_groups). Pure arithmetic: no training.
#pragma once

#include <cstdint>
#include <vector>

#include "hwprune/hw/map_model.hpp"
#include "hwprune/hw/objectives.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/prune/config.hpp"
#include "hwprune/structures/reduce.hpp"
#include "hwprune/structures/selection.hpp"

namespace hwprune::prune {

// The groups and costs the loop prunes: make_plan on the model mapped to hardware; the last
// weight layer is frozen when the objective would remove its neurons (its outputs are the
// classes). Error if nothing can be pruned, or if no group frees any of the objective's
// resources at these hardware settings.
structures::Plan prune_plan(const Model& model, const hw::Objective& objective,
                            const hw::HardwareSpec& hardware);

// Regulariser strength per plan layer, relative: a group that saves a larger share of the
// resources is pushed harder (the mean over all groups is 1).
std::vector<double> layer_factors(const structures::Plan& plan);

// The highest sparsity a selection can reach: what no group removes stays.
double reachable_sparsity(const structures::Plan& plan);

// What a step's knapsack solves proved: every one optimal (within the solver's relative gap),
// and the largest proven relative gap, (upper bound - value) / max(1, |upper bound|)
// (knapsack::Solution::gap; 0 when optimal).
struct SolveReport {
  bool optimal = true;
  double gap = 0;
  void add(bool solve_optimal, double solve_gap);
};

// The knapsack's choice at `target` sparsity (1 = keep, indexed like the plan's groups):
// resources(kept) <= (1 - target) * baseline in every dimension, globally or per layer
// (config.local), with the exact or greedy solver. Groups flagged in `dead` (already
// pruned) are never kept. `report` receives what the solves proved.
std::vector<uint8_t> select_groups(const structures::Plan& plan,
                                   const std::vector<std::vector<double>>& importance,
                                   const std::vector<uint8_t>& dead, double target,
                                   const PruneConfig& config, SolveReport* report = nullptr);

// Joint pruning and precision (config.widths): the plan's groups priced at every width, on
// the model mapped to hardware as prune_plan maps it, and the LUT budget in effect
// (config.lut_budget, or the unpruned design's LUTs with every group at the widest listed
// width below the DSP threshold). Error for an objective that does not price widths, or a
// layer whose weight precision is narrower than the widest width (it could not hold it).
struct JointPlan {
  structures::ChoicePlan choices;
  double lut_budget = 0;
};
JointPlan joint_plan(const Model& model, const hw::Objective& objective,
                     const hw::HardwareSpec& hardware, const structures::Plan& plan,
                     const PruneConfig& config);

// Each group's width now (per plan layer): 0 when every weight is masked, else the widest
// of its weights' widths (Layer::widths, capped at the weight precision's width). A group
// never widens in later steps.
std::vector<std::vector<int>> group_widths(const Model& model, const structures::Plan& plan);

// The multiple-choice knapsack's widths at `target` (DSP <= (1 - target) * baseline, LUT <=
// the joint plan's budget; any other dimension like DSP), minimising the summed
// choice_importance, no group wider than `limit` (group_widths); the exact solver with
// config.solver_time_limit, or the greedy one. `report` receives what the solve proved.
// With the layer granularity every layer takes one width, its groups that width or pruned
// (knapsack::solve_choice_by_class: the time limit covers all its solves).
std::vector<std::vector<int>> select_widths(const structures::Plan& plan, const JointPlan& joint,
                                            const std::vector<std::vector<double>>& importance,
                                            const std::vector<std::vector<int>>& limit,
                                            double target, const PruneConfig& config,
                                            SolveReport* report = nullptr);

// Groups whose every weight is masked (pruned before), indexed like the plan's groups.
std::vector<uint8_t> dead_groups(const Model& model, const structures::Plan& plan);

// The objective's resources of a model (mapped to hardware first) with zeros free (sparse)
// or every weight present.
std::vector<double> resources_of(const Model& model, const hw::Objective& objective,
                                 const hw::HardwareSpec& hardware, bool sparse);

// Zero-structure removal for the hardware: structures::remove_zero_structures, repeated
// until nothing more goes (a removal can make the producer's channels unread), accepting a
// smaller model only when every reuse factor stays valid and none of the objective's
// resources grows (removing inputs of a Resource layer shifts its weight-to-multiplier map).
Model reduce_for_hardware(const Model& model, const hw::Objective& objective,
                          const hw::HardwareSpec& hardware,
                          structures::ReduceReport* report = nullptr);

}  // namespace hwprune::prune
