// Plans, knapsack problems and masks from a selection of groups.
#include "hwprune/structures/selection.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

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

namespace {
// budget - fixed per dimension; Error naming the dimension when the fixed part exceeds it.
std::vector<double> capacities(const Plan& plan, const std::vector<double>& budget) {
  std::vector<double> out;
  for (size_t k = 0; k < plan.dimensions.size(); ++k) {
    const double cap = budget[k] - plan.fixed[k];
    // The fixed part's own rounding may exceed a budget equal to it by a hair.
    if (cap < -1e-9 * std::max(1.0, budget[k]))
      throw Error(
          fmt::format("{} budget {:.6g} is below the {:.6g} that no pruning structure can remove",
                      plan.dimensions[k], budget[k], plan.fixed[k]));
    out.push_back(std::max(0.0, cap));
  }
  return out;
}
}  // namespace

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
  p.capacity = capacities(plan, budget);
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

ChoicePlan make_choice_plan(const Model& model, const hw::HardwareModel& hardware,
                            const hw::Objective& objective, const Plan& plan,
                            const std::vector<int>& widths) {
  ChoicePlan c;
  c.widths = widths;
  for (const LayerPlan& lp : plan.layers) {
    const hw::LayerHw* h = hardware.find(lp.groups.layer);
    if (!h)
      throw Error(fmt::format("layer '{}' is not in the hardware model", lp.groups.layer_name));
    c.costs.push_back(
        objective.choice_costs(model.layers.at(h->layer), *h, hardware.device, lp.groups, widths));
  }
  return c;
}

WidthProblem width_problem(const Plan& plan, const ChoicePlan& choices,
                           const std::vector<std::vector<double>>& importance,
                           const std::vector<double>& budget,
                           const std::vector<std::vector<int>>& limit) {
  const size_t dims = plan.dimensions.size(), nw = choices.widths.size();
  if (importance.size() != plan.layers.size() || choices.costs.size() != plan.layers.size())
    throw Error(fmt::format("importance given for {} layers and costs for {}, the plan has {}",
                            importance.size(), choices.costs.size(), plan.layers.size()));
  if (!limit.empty() && limit.size() != plan.layers.size())
    throw Error(fmt::format("width limits given for {} layers, the plan has {}", limit.size(),
                            plan.layers.size()));
  if (budget.size() != dims)
    throw Error(fmt::format("budget has {} dimensions, the objective {}", budget.size(), dims));
  WidthProblem out;
  knapsack::ChoiceProblem& p = out.problem;
  p.n_dims = dims;
  for (size_t li = 0; li < plan.layers.size(); ++li) {
    const LayerPlan& lp = plan.layers[li];
    const size_t n = lp.groups.size();
    if (importance[li].size() != n * nw || choices.costs[li].cost.size() != n * nw * dims)
      throw Error(fmt::format("layer '{}': {} importances and {} costs for {} groups x {} widths",
                              lp.groups.layer_name, importance[li].size(),
                              choices.costs[li].cost.size(), n, nw));
    if (!limit.empty() && limit[li].size() != n)
      throw Error(fmt::format("layer '{}': {} width limits for {} groups", lp.groups.layer_name,
                              limit[li].size(), n));
    for (size_t g = 0; g < n; ++g) {
      const int cap = limit.empty() ? std::numeric_limits<int>::max() : limit[li][g];
      const size_t before = p.value.size();
      for (size_t j = 0; j < nw; ++j) {
        if (choices.widths[j] > cap) continue;
        const double v = importance[li][g * nw + j];
        if (!std::isfinite(v))
          throw Error(fmt::format("layer '{}': importance of group {} at {} bits is {}",
                                  lp.groups.layer_name, g, choices.widths[j], v));
        p.value.push_back(-v);
        const double* c = &choices.costs[li].cost[(g * nw + j) * dims];
        p.weight.insert(p.weight.end(), c, c + dims);
        out.option_width.push_back(choices.widths[j]);
      }
      if (p.value.size() == before)
        throw Error(
            fmt::format("layer '{}': group {} may not be wider than {} bits, and no width "
                        "of the list is that narrow",
                        lp.groups.layer_name, g, cap));
      p.offsets.push_back(p.value.size());
    }
  }
  p.capacity = capacities(plan, budget);
  return out;
}

void apply_widths(Model& model, const Plan& plan, const std::vector<std::vector<int>>& widths) {
  if (widths.size() != plan.layers.size())
    throw Error(fmt::format("widths given for {} layers, the plan has {}", widths.size(),
                            plan.layers.size()));
  for (size_t li = 0; li < plan.layers.size(); ++li) {
    const hw::GroupSet& gs = plan.layers[li].groups;
    if (widths[li].size() != gs.size())
      throw Error(fmt::format("layer '{}': {} widths for {} groups", gs.layer_name,
                              widths[li].size(), gs.size()));
    Layer& layer = model.layer(gs.layer_name);
    if (!layer.precision.weight)
      throw Error(fmt::format("layer '{}': per-group widths need a fixed-point weight precision",
                              gs.layer_name));
    std::vector<uint8_t> keep(gs.size());
    for (size_t g = 0; g < gs.size(); ++g) keep[g] = widths[li][g] > 0;
    apply_selection(layer, gs, keep);
    if (layer.widths.empty())
      layer.widths =
          Tensor(layer.weight("kernel").shape, static_cast<float>(layer.precision.weight->width));
    for (size_t g = 0; g < gs.size(); ++g) {
      if (!keep[g]) continue;
      if (widths[li][g] > FixedType::kMaxWidth)
        throw Error(fmt::format("layer '{}': width {} of group {} is out of range (1..{})",
                                gs.layer_name, widths[li][g], g, FixedType::kMaxWidth));
      for (int64_t k : gs.group(g))
        layer.widths.data[static_cast<size_t>(k)] = static_cast<float>(widths[li][g]);
    }
  }
}

std::vector<std::vector<int>> chosen_widths(const Plan& plan, const WidthProblem& problem,
                                            const std::vector<std::size_t>& choice) {
  if (choice.size() != problem.problem.n_groups() || choice.size() != plan.group_count())
    throw Error(
        fmt::format("choice has {} entries for {} groups", choice.size(), plan.group_count()));
  std::vector<std::vector<int>> out;
  size_t g = 0;
  for (const LayerPlan& lp : plan.layers) {
    std::vector<int> w(lp.groups.size());
    for (size_t i = 0; i < w.size(); ++i, ++g) {
      const size_t o = choice[g];
      if (o < problem.problem.offsets[g] || o >= problem.problem.offsets[g + 1])
        throw Error(fmt::format("choice {} of group {} is not one of its options", o, g));
      w[i] = problem.option_width[o];
    }
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace hwprune::structures
