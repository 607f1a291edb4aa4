// From an objective to a mask: every prunable layer's groups with their costs (a plan), the
// knapsack that keeps the most important groups within a resource budget, and the masks
// of a knapsack solution.
#pragma once

#include <string>
#include <vector>

#include "hwprune/hw/objectives.hpp"
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

}  // namespace hwprune::structures
