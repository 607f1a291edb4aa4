// From an objective to a mask: every prunable layer's groups with their costs (a plan), the
// knapsack that keeps the most important groups within a resource budget, and the masks
// of a knapsack solution.
#pragma once

#include <string>
#include <vector>

#include "hwprune/hw/objectives.hpp"
#include "hwprune/knapsack/choice.hpp"
#include "hwprune/knapsack/knapsack.hpp"
#include "hwprune/structures/groups.hpp"

namespace hwprune::structures {

struct LayerPlan {
  hw::GroupSet groups;   // in the structure the objective chose for the layer
  hw::GroupCosts costs;  // per group, in the objective's dimensions
};

struct Plan {
  std::vector<std::string> dimensions;
  std::vector<LayerPlan> layers;  // one per prunable Dense/Conv layer, in order
  std::vector<double> fixed;      // what no group removes, summed over all Dense/Conv layers
  std::vector<double> baseline;   // the objective's resources of the unpruned design
  size_t group_count() const;
};

// Groups and costs of every Dense/Conv layer in `hardware` except those named in `frozen`
// (kept whole: their resources count as fixed).
Plan make_plan(const Model& model, const hw::HardwareModel& hardware,
               const hw::Objective& objective, const std::vector<std::string>& frozen = {});

// The knapsack over all groups of the plan: item values are the importances (one vector
// per plan layer, one value per group, finite and >= 0), capacity = budget - fixed per
// dimension (an Error names the dimension when the fixed part alone exceeds the budget).
knapsack::Problem knapsack_problem(const Plan& plan,
                                   const std::vector<std::vector<double>>& importance,
                                   const std::vector<double>& budget);

// Masks the groups a knapsack solution drops (take is indexed like knapsack_problem's items).
// Layers are found by name, so `model` may be the one the plan was built on or the same model
// with its BatchNorms not folded.
void apply_plan(Model& model, const Plan& plan, const std::vector<uint8_t>& take);

// Joint pruning and precision: every plan group's cost at each width it may take.
struct ChoicePlan {
  std::vector<int> widths;             // ascending, 0 = pruned (hw::parse_widths)
  std::vector<hw::ChoiceCosts> costs;  // per plan layer (their fixed parts are in Plan::fixed)
};
// Error for an objective that does not price widths (hw::Objective::choice_costs).
ChoicePlan make_choice_plan(const Model& model, const hw::HardwareModel& hardware,
                            const hw::Objective& objective, const Plan& plan,
                            const std::vector<int>& widths);

// The multiple-choice knapsack of a choice plan: one option per width a group may take,
// valued -importance[layer][g * widths + j] (hwprune::prune::choice_importance), capacity
// budget - plan.fixed per dimension. `limit` (per plan layer and group, in bits; empty: none)
// caps each group's width: a group pruned (0) or narrowed before never widens. option_width
// holds each option's width.
struct WidthProblem {
  knapsack::ChoiceProblem problem;
  std::vector<int> option_width;
};
// Errors as knapsack_problem's, for a non-finite importance, and for a group whose limit
// admits no width of the list.
WidthProblem width_problem(const Plan& plan, const ChoicePlan& choices,
                           const std::vector<std::vector<double>>& importance,
                           const std::vector<double>& budget,
                           const std::vector<std::vector<int>>& limit = {});
// Sets each group's width in `model` (per plan layer, as chosen_widths gives them; layers by
// name): width 0 masks the group, any other becomes its weights' Layer::widths entries.
void apply_widths(Model& model, const Plan& plan, const std::vector<std::vector<int>>& widths);

// The width of every group (per plan layer) that a choice of width_problem's options picks.
std::vector<std::vector<int>> chosen_widths(const Plan& plan, const WidthProblem& problem,
                                            const std::vector<std::size_t>& choice);

}  // namespace hwprune::structures
