// The pruning plan, the knapsack step's choice of groups, resources, and the zero-structure
// removal that keeps the hardware valid (see plan.hpp).
#include "hwprune/prune/plan.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hwprune/knapsack/choice.hpp"
#include "hwprune/knapsack/knapsack.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::prune {

namespace {

// The configured solver (config.greedy, config.solver_time_limit) on either knapsack.
knapsack::Options solver_options(const PruneConfig& cfg) {
  knapsack::Options o;
  o.time_limit_s = cfg.solver_time_limit;
  return o;
}
knapsack::Solution solve(const knapsack::Problem& p, const PruneConfig& cfg) {
  return cfg.greedy ? knapsack::solve_greedy(p) : knapsack::solve_exact(p, solver_options(cfg));
}
knapsack::ChoiceSolution solve(const knapsack::ChoiceProblem& p, const PruneConfig& cfg) {
  return cfg.greedy ? knapsack::solve_choice_greedy(p)
                    : knapsack::solve_choice_exact(p, solver_options(cfg));
}

// The layer granularity's coupling: a group's class is its plan layer, an option's label its
// width (0, pruned, is free).
knapsack::ClassCoupling layer_coupling(const structures::Plan& plan,
                                       const structures::WidthProblem& wp) {
  knapsack::ClassCoupling c;
  for (size_t li = 0; li < plan.layers.size(); ++li)
    c.group_class.insert(c.group_class.end(), plan.layers[li].groups.size(), li);
  c.option_label = wp.option_width;
  return c;
}

double layer_baseline(const structures::LayerPlan& lp, size_t dims, size_t k) {
  double b = lp.costs.fixed[k];
  for (size_t g = 0; g < lp.groups.size(); ++g) b += lp.costs.cost[g * dims + k];
  return b;
}

// One layer of a plan as a plan of its own (a local knapsack).
structures::Plan layer_plan(const structures::Plan& plan, size_t li) {
  const size_t dims = plan.dimensions.size();
  structures::Plan sub;
  sub.dimensions = plan.dimensions;
  sub.layers = {plan.layers[li]};
  sub.fixed = plan.layers[li].costs.fixed;
  sub.baseline.resize(dims);
  for (size_t k = 0; k < dims; ++k) sub.baseline[k] = layer_baseline(plan.layers[li], dims, k);
  return sub;
}

}  // namespace

structures::Plan prune_plan(const Model& model, const hw::Objective& objective,
                            const hw::HardwareSpec& hardware) {
  const hw::MappedModel mapped = hw::map_model(model, hardware);
  const hw::HardwareModel& hwm = mapped.hardware;
  if (hwm.layers.empty())
    throw Error(fmt::format("model '{}' has no Dense or Conv layer to prune", model.name));
  // The last weight layer's outputs are the classes: never remove its neurons.
  std::vector<std::string> frozen;
  if (objective.structure(hwm.layers.back()) == hw::GroupKind::Neuron)
    frozen.push_back(hwm.layers.back().name);
  structures::Plan plan = structures::make_plan(mapped.model, hwm, objective, frozen);
  if (plan.layers.empty())
    throw Error(fmt::format("model '{}': no layer can be pruned for objective {}", model.name,
                            objective.name()));
  // Pruning cannot lower a resource that no group pays for (e.g. ff when every multiplier is
  // a DSP, whose product register sits in the DSP48).
  const bool any_cost = std::any_of(plan.layers.begin(), plan.layers.end(), [](const auto& lp) {
    return std::any_of(lp.costs.cost.begin(), lp.costs.cost.end(), [](double c) { return c > 0; });
  });
  if (!any_cost)
    throw Error(fmt::format(
        "model '{}': objective {}: no weight group frees any {} at these hardware settings "
        "(docs/hardware-model.md); choose another objective",
        model.name, objective.name(), fmt::join(plan.dimensions, "/")));
  return plan;
}

std::vector<double> layer_factors(const structures::Plan& plan) {
  const size_t dims = plan.dimensions.size();
  std::vector<double> share, out;
  double total = 0;
  size_t n = 0;
  for (const auto& lp : plan.layers) {
    double s = 0;
    for (size_t g = 0; g < lp.groups.size(); ++g)
      for (size_t k = 0; k < dims; ++k)
        if (plan.baseline[k] > 0)
          s += lp.costs.cost[g * dims + k] / plan.baseline[k] / static_cast<double>(dims);
    total += s;
    n += lp.groups.size();
    share.push_back(lp.groups.size() ? s / static_cast<double>(lp.groups.size()) : 0.0);
  }
  const double mean = n ? total / static_cast<double>(n) : 0.0;
  for (double s : share) out.push_back(mean > 0 ? s / mean : 1.0);
  return out;
}

double reachable_sparsity(const structures::Plan& plan) {
  double reachable = 1.0;
  for (size_t k = 0; k < plan.dimensions.size(); ++k)
    if (plan.baseline[k] > 0)
      reachable = std::min(reachable, 1.0 - plan.fixed[k] / plan.baseline[k]);
  return reachable;
}

void SolveReport::add(bool solve_optimal, double solve_gap) {
  optimal = optimal && solve_optimal;
  gap = std::max(gap, solve_optimal ? 0.0 : std::max(0.0, solve_gap));
}

std::vector<uint8_t> select_groups(const structures::Plan& plan,
                                   const std::vector<std::vector<double>>& importance,
                                   const std::vector<uint8_t>& dead, double target,
                                   const PruneConfig& cfg, SolveReport* report) {
  if (dead.size() != plan.group_count())
    throw Error(fmt::format("{} dead flags for {} groups", dead.size(), plan.group_count()));
  if (!(target >= 0 && target <= 1))
    throw Error(fmt::format("target sparsity must be in [0, 1], got {}", target));
  const size_t dims = plan.dimensions.size();
  std::vector<uint8_t> take;
  SolveReport proved;
  auto run = [&](const structures::Plan& p, const std::vector<std::vector<double>>& imp) {
    std::vector<double> budget(dims);
    for (size_t k = 0; k < dims; ++k)
      budget[k] = std::max((1.0 - target) * p.baseline[k], p.fixed[k]);
    const knapsack::Solution s = solve(structures::knapsack_problem(p, imp, budget), cfg);
    proved.add(s.optimal, s.gap());
    take.insert(take.end(), s.take.begin(), s.take.end());
  };
  if (cfg.local) {
    for (size_t li = 0; li < plan.layers.size(); ++li) run(layer_plan(plan, li), {importance[li]});
  } else {
    run(plan, importance);
  }
  for (size_t i = 0; i < take.size(); ++i)
    if (dead[i]) take[i] = 0;
  if (report) *report = proved;
  return take;
}

JointPlan joint_plan(const Model& model, const hw::Objective& objective,
                     const hw::HardwareSpec& hardware, const structures::Plan& plan,
                     const PruneConfig& config) {
  const hw::MappedModel mapped = hw::map_model(model, hardware);
  const int widest = config.widths.empty() ? 0 : config.widths.back();
  for (const auto& lp : plan.layers) {
    const hw::LayerHw* h = mapped.hardware.find(lp.groups.layer);
    if (h && h->weight.width < widest)
      throw Error(fmt::format(
          "layer '{}': weight precision {} is narrower than the widest of the widths ({} bits); "
          "give a precision of at least {} bits or drop the wider widths",
          h->name, h->weight.str(), widest, widest));
  }
  JointPlan j;
  j.choices =
      structures::make_choice_plan(mapped.model, mapped.hardware, objective, plan, config.widths);
  if (config.lut_budget) {
    j.lut_budget = *config.lut_budget;
    return j;
  }
  // The unpruned design at the widest LUT width: the fixed part plus every group at it.
  const auto& dims = plan.dimensions;
  const auto lut_dim = std::find(dims.begin(), dims.end(), "LUT");
  const int threshold = hardware.device.dsp_min_weight_bits;
  int lut_width = -1;
  for (size_t i = 0; i < config.widths.size(); ++i)
    if (config.widths[i] > 0 && config.widths[i] < threshold) lut_width = static_cast<int>(i);
  if (lut_dim == dims.end() || lut_width < 0) return j;
  const auto d = static_cast<size_t>(lut_dim - dims.begin());
  const size_t nw = config.widths.size(), nd = dims.size();
  j.lut_budget = plan.fixed[d];
  for (size_t li = 0; li < plan.layers.size(); ++li)
    for (size_t g = 0; g < plan.layers[li].groups.size(); ++g)
      j.lut_budget += j.choices.costs[li].cost[(g * nw + static_cast<size_t>(lut_width)) * nd + d];
  return j;
}

std::vector<std::vector<int>> group_widths(const Model& m, const structures::Plan& plan) {
  std::vector<std::vector<int>> out;
  for (const auto& lp : plan.layers) {
    const Layer& l = m.layer(lp.groups.layer_name);
    std::vector<int> w(lp.groups.size(), 0);
    for (size_t g = 0; g < lp.groups.size(); ++g)
      for (int64_t idx : lp.groups.group(g)) {
        const auto k = static_cast<size_t>(idx);
        if (!l.mask.empty() && l.mask.data[k] == 0.0f) continue;
        w[g] = std::max(w[g], kernel_weight_bits(l, k));
      }
    out.push_back(std::move(w));
  }
  return out;
}

std::vector<std::vector<int>> select_widths(const structures::Plan& plan, const JointPlan& joint,
                                            const std::vector<std::vector<double>>& importance,
                                            const std::vector<std::vector<int>>& limit,
                                            double target, const PruneConfig& cfg,
                                            SolveReport* report) {
  if (!(target >= 0 && target <= 1))
    throw Error(fmt::format("target sparsity must be in [0, 1], got {}", target));
  std::vector<double> budget(plan.dimensions.size());
  for (size_t k = 0; k < budget.size(); ++k)
    budget[k] = plan.dimensions[k] == "LUT"
                    ? std::max(joint.lut_budget, plan.fixed[k])
                    : std::max((1.0 - target) * plan.baseline[k], plan.fixed[k]);
  const structures::WidthProblem wp =
      structures::width_problem(plan, joint.choices, importance, budget, limit);
  const knapsack::ChoiceSolution s =
      cfg.width_granularity == WidthGranularity::Layer
          ? knapsack::solve_choice_by_class(wp.problem, layer_coupling(plan, wp),
                                            solver_options(cfg), cfg.greedy)
          : solve(wp.problem, cfg);
  if (report) {
    *report = {};
    report->add(s.optimal, s.gap());
  }
  return structures::chosen_widths(plan, wp, s.choice);
}

std::vector<uint8_t> dead_groups(const Model& m, const structures::Plan& plan) {
  std::vector<uint8_t> dead;
  for (const auto& lp : plan.layers) {
    const Layer& l = m.layer(lp.groups.layer_name);
    for (size_t g = 0; g < lp.groups.size(); ++g) {
      bool all = !l.mask.empty();
      if (all)
        for (int64_t idx : lp.groups.group(g))
          if (l.mask.data[idx] != 0.0f) {
            all = false;
            break;
          }
      dead.push_back(all ? 1 : 0);
    }
  }
  return dead;
}

std::vector<double> resources_of(const Model& model, const hw::Objective& objective,
                                 const hw::HardwareSpec& hardware, bool sparse) {
  const hw::MappedModel m = hw::map_model(model, hardware);
  return hw::model_resources(objective, m.model, m.hardware, sparse);
}

Model reduce_for_hardware(const Model& model, const hw::Objective& objective,
                          const hw::HardwareSpec& hardware, structures::ReduceReport* report) {
  const std::vector<double> before = resources_of(model, objective, hardware, true);
  const structures::ReduceAccept accept = [&](const Model& candidate) {
    std::vector<double> after;
    try {
      after = resources_of(candidate, objective, hardware, true);
    } catch (const Error&) {
      return false;  // e.g. a reuse factor that is no longer valid for the smaller shape
    }
    for (size_t k = 0; k < before.size(); ++k)
      if (after[k] > before[k] + 1e-9 * std::max(1.0, before[k])) return false;
    return true;
  };
  Model m = model;
  for (;;) {
    structures::ReduceReport round;
    Model next = structures::remove_zero_structures(m, accept, &round);
    if (report) {
      report->changes.insert(report->changes.end(), round.changes.begin(), round.changes.end());
      report->refused = round.refused;  // the last round's refusals are the ones that stand
    }
    if (round.changes.empty()) return m;
    m = std::move(next);
  }
}

}  // namespace hwprune::prune
