// Plans, knapsack problems and masks from a selection of groups.
#include "hwprune/structures/selection.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"

namespace hwprune::structures {

size_t Plan::group_count() const {
  size_t n = 0;
  for (const auto& l : layers) n += l.groups.size();
  return n;
}

Plan make_plan(const Model& model, const hw::HardwareModel& hardware,
               const hw::Objective& objective, const std::vector<std::string>& frozen) {
  Plan plan;
  plan.dimensions = objective.dimensions();
  const size_t dims = plan.dimensions.size();
  plan.fixed.assign(dims, 0.0);
  plan.baseline.assign(dims, 0.0);
  for (const hw::LayerHw& h : hardware.layers) {
    const Layer& layer = model.layers.at(h.layer);
    const auto dense = objective.resources(layer, h, hardware.device, /*sparse=*/false);
    for (size_t k = 0; k < dims; ++k) plan.baseline[k] += dense[k];
    if (std::find(frozen.begin(), frozen.end(), h.name) != frozen.end()) {
      for (size_t k = 0; k < dims; ++k) plan.fixed[k] += dense[k];
      continue;
    }
    LayerPlan lp;
    lp.groups = make_groups(layer, h, objective.structure(h));
    lp.costs = objective.group_costs(layer, h, hardware.device, lp.groups);
    for (size_t k = 0; k < dims; ++k) plan.fixed[k] += lp.costs.fixed[k];
    plan.layers.push_back(std::move(lp));
  }
  return plan;
}

knapsack::Problem knapsack_problem(const Plan& plan,
                                   const std::vector<std::vector<double>>& importance,
                                   const std::vector<double>& budget) {
  const size_t dims = plan.dimensions.size();
  if (importance.size() != plan.layers.size())
    throw Error(fmt::format("importance given for {} layers, the plan has {}", importance.size(),
                            plan.layers.size()));
  if (budget.size() != dims)
    throw Error(fmt::format("budget has {} dimensions, the objective {}", budget.size(), dims));
  knapsack::Problem p;
  p.n_dims = dims;
  p.n_items = plan.group_count();
  p.value.reserve(p.n_items);
  p.weight.reserve(p.n_items * dims);
  for (size_t li = 0; li < plan.layers.size(); ++li) {
    const LayerPlan& lp = plan.layers[li];
    if (importance[li].size() != lp.groups.size())
      throw Error(fmt::format("layer '{}': {} importances for {} groups", lp.groups.layer_name,
                              importance[li].size(), lp.groups.size()));
    for (size_t g = 0; g < lp.groups.size(); ++g) {
      const double v = importance[li][g];
      if (!std::isfinite(v) || v < 0)
        throw Error(fmt::format("layer '{}': importance of group {} is {} (must be finite, >= 0)",
                                lp.groups.layer_name, g, v));
      p.value.push_back(v);
    }
    p.weight.insert(p.weight.end(), lp.costs.cost.begin(), lp.costs.cost.end());
  }
  for (size_t k = 0; k < dims; ++k) {
    const double cap = budget[k] - plan.fixed[k];
    // The fixed part's own rounding may exceed a budget equal to it by a hair.
    if (cap < -1e-9 * std::max(1.0, budget[k]))
      throw Error(
          fmt::format("{} budget {:.6g} is below the {:.6g} that no pruning structure can remove",
                      plan.dimensions[k], budget[k], plan.fixed[k]));
    p.capacity.push_back(std::max(0.0, cap));
  }
  return p;
}

void apply_plan(Model& model, const Plan& plan, const std::vector<uint8_t>& take) {
  if (take.size() != plan.group_count())
    throw Error(
        fmt::format("selection has {} entries for {} groups", take.size(), plan.group_count()));
  size_t offset = 0;
  for (const LayerPlan& lp : plan.layers) {
    const std::vector<uint8_t> keep(take.begin() + static_cast<long>(offset),
                                    take.begin() + static_cast<long>(offset + lp.groups.size()));
    apply_selection(model.layer(lp.groups.layer_name), lp.groups, keep);
    offset += lp.groups.size();
  }
}

}  // namespace hwprune::structures
