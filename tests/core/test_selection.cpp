// From objective to mask: the jet-mlp's pattern groups at RF 2 chosen by the exact knapsack
// under a DSP+BRAM budget, applied as masks, and re-counted by the estimator.
#include <cmath>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/hw/estimate.hpp"
#include "hwprune/structures/selection.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using test::error_of;
using ::testing::HasSubstr;

// L1 norm of every group's weights, divided by the layer's largest (so layers compare).
std::vector<std::vector<double>> l1_importance(const Model& m, const structures::Plan& plan) {
  std::vector<std::vector<double>> out;
  for (const auto& lp : plan.layers) {
    const Tensor& k = m.layers[lp.groups.layer].weight("kernel");
    std::vector<double> v;
    for (size_t g = 0; g < lp.groups.size(); ++g) {
      double s = 0;
      for (int64_t i : lp.groups.group(g)) s += std::abs(k.data[static_cast<size_t>(i)]);
      v.push_back(s);
    }
    const double top = *std::max_element(v.begin(), v.end());
    for (double& x : v) x /= top;
    out.push_back(std::move(v));
  }
  return out;
}

// The jet-mlp at ap_fixed<16,6>, resolved at reuse factor `rf` (Resource).
std::pair<Model, hw::HardwareModel> jet_at(int64_t rf) {
  Model m = make_builtin_model("jet-mlp", 5, 1);
  m.set_precision(parse_precision("ap_fixed<16,6>"));
  hw::HardwareDefaults d;
  d.reuse_factor = rf;
  hw::HardwareModel hwm = hw::resolve_hardware(m, d);
  return {std::move(m), std::move(hwm)};
}

TEST(Selection, JetMlpDspBramBudgetHoldsAfterMasking) {
  const auto [m, hwm] = jet_at(2);
  const auto obj = hw::make_objective("dsp-bram");
  const auto plan = structures::make_plan(m, hwm, *obj, {"output"});
  ASSERT_EQ(plan.layers.size(), 3u);  // output is frozen
  EXPECT_EQ(plan.group_count(), 512u + 1024u + 512u);
  EXPECT_DOUBLE_EQ(plan.baseline[0], 2128);
  EXPECT_DOUBLE_EQ(plan.baseline[1], 948);

  const std::vector<double> budget{0.3 * plan.baseline[0], 0.3 * plan.baseline[1]};
  const auto problem = structures::knapsack_problem(plan, l1_importance(m, plan), budget);
  const auto sol = knapsack::solve_exact(problem);
  ASSERT_TRUE(sol.optimal);
  ASSERT_TRUE(knapsack::feasible(problem, sol.take));
  EXPECT_EQ(knapsack::solve_exact(problem).take, sol.take);  // deterministic

  Model pruned = m;
  structures::apply_plan(pruned, plan, sol.take);
  const auto after = hw::estimate_model(pruned, hwm, {hw::BramModel::Packed, true});
  const auto kept = std::count(sol.take.begin(), sol.take.end(), uint8_t{1});
  EXPECT_EQ(after.total.dsp, kept + 80);  // one DSP per kept pattern + the frozen output
  EXPECT_LE(after.total.dsp, budget[0]);
  // Packed BRAM rounds up once per layer at most.
  EXPECT_LE(after.total.bram18, budget[1] + 4);
  EXPECT_TRUE(pruned.layers.back().mask.empty() ||
              std::all_of(pruned.layers.back().mask.data.begin(),
                          pruned.layers.back().mask.data.end(), [](float x) { return x == 1; }));
}

TEST(Selection, BadBudgetsAndImportancesAreErrors) {
  const auto [m, hwm] = jet_at(4);
  const auto plan = structures::make_plan(m, hwm, *hw::make_objective("dsp"), {"output"});
  auto imp = l1_importance(m, plan);
  EXPECT_THAT(error_of([&] { structures::knapsack_problem(plan, imp, {10.0}); }),
              HasSubstr("DSP budget 10 is below the 40 that no pruning structure can remove"));
  imp[1][3] = std::nan("");
  EXPECT_THAT(error_of([&] { structures::knapsack_problem(plan, imp, {500.0}); }),
              HasSubstr("layer 'fc2': importance of group 3 is nan"));
  EXPECT_THAT(error_of([&] { structures::knapsack_problem(plan, {}, {500.0}); }),
              HasSubstr("importance given for 0 layers, the plan has 3"));
}

}  // namespace
}  // namespace hwprune
