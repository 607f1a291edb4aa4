// Per-group widths: the LUT multiplier table (re-measured in part with Yosys), the width
// rules, the dsp-lut objective's costs per width against its own resource count, and the
// multiple-choice problem built from a choice plan.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/hw/lut_costs.hpp"
#include "hwprune/hw/objectives.hpp"
#include "hwprune/hw/widths.hpp"
#include "hwprune/knapsack/choice.hpp"
#include "hwprune/rtl/lut_products.hpp"
#include "hwprune/structures/selection.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using test::error_of;
using ::testing::HasSubstr;

TEST(LutTable, OddPartsShiftsAndRangeErrors) {
  EXPECT_EQ(hw::odd_part(0).bits, 0);
  EXPECT_EQ(hw::odd_part(12).value, 3);
  EXPECT_EQ(hw::odd_part(12).bits, 3);
  EXPECT_EQ(hw::odd_part(-1).bits, 1);
  EXPECT_EQ(hw::odd_part(1).bits, 2);
  EXPECT_EQ(hw::odd_part(-128).value, -1);
  EXPECT_EQ(hw::odd_part(127).bits, 8);
  EXPECT_EQ(hw::odd_part(-127).bits, 8);
  EXPECT_EQ(hw::odd_part(129).bits, 9);
  // A power-of-two factor is wiring: 6x costs what 3x costs; 0 costs nothing.
  for (int x : {4, 16, 24}) {
    EXPECT_EQ(hw::lut_constant_multiplier(6, x), hw::lut_constant_multiplier(3, x));
    EXPECT_EQ(hw::lut_constant_multiplier(-80, x), hw::lut_constant_multiplier(-5, x));
    EXPECT_EQ(hw::lut_constant_multiplier(0, x), 0);
  }
  // A multiplier by a non-trivial weight costs LUTs, and a wider input costs more.
  EXPECT_GT(hw::lut_multiplier(4, 16), 0);
  EXPECT_GT(hw::lut_multiplier(8, 16), hw::lut_multiplier(8, 8));
  EXPECT_GT(hw::lut_constant_multiplier(101, 16), hw::lut_constant_multiplier(101, 4));
  EXPECT_TRUE(hw::lut_table_has(12, 24, false));
  EXPECT_FALSE(hw::lut_table_has(9, 24, true));
  EXPECT_FALSE(hw::lut_table_has(4, 25, false));
  EXPECT_THAT(error_of([] { hw::lut_multiplier(13, 8); }), HasSubstr("13-bit weight"));
  EXPECT_THAT(error_of([] { hw::lut_multiplier(4, 25); }), HasSubstr("25-bit input"));
  EXPECT_THAT(error_of([] { hw::lut_constant_multiplier(129, 8); }),
              HasSubstr("odd part 129 needs 9 signed bits"));
}

bool have_yosys() {
  return std::system("yosys -V > /dev/null 2>&1") == 0;
}

// The table is what Yosys measures: a sample of its entries, re-measured in one run.
TEST(LutTable, EntriesMatchYosysOnTheProductModules) {
  if (!have_yosys()) GTEST_SKIP() << "yosys not installed (apt-get install yosys)";
  std::vector<rtl::ProductShape> shapes{rtl::variable_product(1, 3), rtl::variable_product(4, 8),
                                        rtl::variable_product(6, 6), rtl::variable_product(3, 12)};
  std::vector<int64_t> expected;
  for (const auto& s : shapes) expected.push_back(hw::lut_multiplier(s.weight_bits, s.input_bits));
  for (int64_t c : {-1, 1, 3, -17, 101, -127})
    for (int x : {5, 8}) {
      shapes.push_back(rtl::constant_product(c, x));
      expected.push_back(hw::lut_constant_multiplier(c, x));
    }
  const std::string dir =
      (std::filesystem::temp_directory_path() / fmt::format("hwprune_lut_{}", ::getpid())).string();
  const std::vector<int64_t> got = rtl::measure_product_luts(shapes, hw::Device{}, dir);
  std::filesystem::remove_all(dir);
  ASSERT_EQ(got.size(), shapes.size());
  for (size_t k = 0; k < shapes.size(); ++k)
    EXPECT_EQ(got[k], expected[k]) << rtl::product_module_name(shapes[k]);
}

TEST(LutTable, ProductModulesRefuseBadShapes) {
  EXPECT_THAT(rtl::product_module(rtl::constant_product(-17, 8)),
              HasSubstr("module lutmul_cm17_x8"));
  EXPECT_THAT(rtl::product_module(rtl::variable_product(4, 8)), HasSubstr("[3:0] w"));
  rtl::ProductShape even{true, 4, 6, 8};
  EXPECT_THAT(error_of([&] { rtl::product_module(even); }), HasSubstr("not an odd constant"));
  EXPECT_THAT(error_of([] { rtl::product_module(rtl::variable_product(0, 8)); }),
              HasSubstr("widths must be in 1..64"));
}

TEST(Widths, ParsedSortedAndBadListsRefused) {
  EXPECT_EQ(hw::parse_widths("16,0, 4,8,6"), (std::vector<int>{0, 4, 6, 8, 16}));
  EXPECT_EQ(hw::parse_widths("8"), (std::vector<int>{8}));
  EXPECT_THAT(error_of([] { hw::parse_widths("0,4,x"); }), HasSubstr("entry \"x\""));
  EXPECT_THAT(error_of([] { hw::parse_widths("0,4,4"); }), HasSubstr("appears twice"));
  EXPECT_THAT(error_of([] { hw::parse_widths("0,40"); }), HasSubstr("out of range"));
  EXPECT_THAT(error_of([] { hw::parse_widths("0"); }), HasSubstr("at least one non-zero"));
  EXPECT_THAT(error_of([] { hw::parse_widths("4,,8"); }), HasSubstr("entry \"\""));
}

TEST(Widths, NarrowTypesKeepTheRangeAndTheGridIsNested) {
  const FixedType t = FixedType::make(16, 6, true, QuantMode::RND, OverflowMode::SAT);
  const FixedType n = at_width(t, 6);
  EXPECT_EQ(n.str(), "ap_fixed<6,6,AP_RND,AP_SAT>");
  EXPECT_EQ(at_width(FixedType::make(8, 1), 4).str(), "ap_fixed<4,1>");
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(-40, 40);
  for (int i = 0; i < 2000; ++i) {
    const double x = u(rng);
    for (int b : {2, 4, 6, 9, 15}) {
      // On the b-bit grid, inside the type's range, and held exactly by the full type.
      const double q = at_width(t, b).quantize(x);
      EXPECT_EQ(t.quantize(q), q) << x << " at " << b;
      EXPECT_EQ(std::fmod(q, std::ldexp(1.0, 6 - b)), 0.0) << x << " at " << b;
      EXPECT_LE(std::abs(q), 32.0);
    }
  }
  EXPECT_THAT(error_of([&] { at_width(t, 0); }), HasSubstr("out of range"));
}

TEST(Widths, MultiplierCostFollowsTheDspThresholdAndTheValue) {
  const hw::Device dev;
  hw::LayerHw h;
  h.weight = FixedType::make(16, 6);
  h.input = FixedType::make(16, 6);
  const hw::MultiplierCost wide = hw::multiplier_cost(h, dev, 16);
  EXPECT_EQ(wide.dsp, 1);
  EXPECT_EQ(wide.lut, 0);
  EXPECT_EQ(hw::multiplier_cost(h, dev, 9).dsp, 1);
  const hw::MultiplierCost narrow = hw::multiplier_cost(h, dev, 6);
  EXPECT_EQ(narrow.dsp, 0);
  EXPECT_EQ(narrow.lut, hw::lut_multiplier(6, 16));
  // A constant at 6 bits (ap_fixed<6,6>: integers): its value on that grid sets the cost.
  EXPECT_EQ(hw::multiplier_cost(h, dev, 6, 3.7).lut, hw::lut_constant_multiplier(3, 16));
  EXPECT_EQ(hw::multiplier_cost(h, dev, 6, -12.2).lut, hw::lut_constant_multiplier(-13, 16));
  EXPECT_EQ(hw::multiplier_cost(h, dev, 6, 0.9).lut, 0);  // TRN: 0 at 6 bits
  h.input = FixedType::make(32, 8);
  EXPECT_THAT(error_of([&] { hw::multiplier_cost(h, dev, 6); }), HasSubstr("32-bit input"));
}

// The jet-mlp at `type`, resolved at `rf` (Resource at RF > 1).
std::pair<Model, hw::HardwareModel> jet(const std::string& type, int64_t rf) {
  Model m = make_builtin_model("jet-mlp", 5, 7);
  m.set_precision(parse_precision(type));
  hw::HardwareDefaults d;
  d.reuse_factor = rf;
  hw::HardwareModel hwm = hw::resolve_hardware(m, d);
  return {std::move(m), std::move(hwm)};
}

// For every width b: the choice costs with every group at b add up (with the fixed part) to
// the resources the objective counts for the same layer at the weight type narrowed to b.
TEST(DspLut, ChoiceCostsAddUpToTheResourcesAtEachWidth) {
  const auto obj = hw::make_objective("dsp-lut");
  EXPECT_EQ(obj->dimensions(), (std::vector<std::string>{"DSP", "LUT"}));
  for (int64_t rf : {1, 2}) {
    const auto [m, hwm] = jet("ap_fixed<12,4>", rf);
    const std::vector<int> widths{0, 3, 5, 8, 12};
    for (const hw::LayerHw& h : hwm.layers) {
      const Layer& layer = m.layers[h.layer];
      const hw::GroupSet gs = structures::make_groups(layer, h, obj->structure(h));
      const hw::ChoiceCosts c = obj->choice_costs(layer, h, hwm.device, gs, widths);
      ASSERT_EQ(c.cost.size(), gs.size() * widths.size() * 2);
      const hw::GroupCosts own = obj->group_costs(layer, h, hwm.device, gs);
      EXPECT_EQ(own.fixed, c.fixed);
      for (size_t j = 0; j < widths.size(); ++j) {
        double sum[2] = {c.fixed[0], c.fixed[1]};
        for (size_t g = 0; g < gs.size(); ++g)
          for (int d = 0; d < 2; ++d) sum[d] += c.cost[(g * widths.size() + j) * 2 + d];
        if (widths[j] == 0) {
          EXPECT_EQ(sum[0], c.fixed[0]);
          EXPECT_EQ(sum[1], c.fixed[1]);
          continue;
        }
        hw::LayerHw at = h;
        at.weight = at_width(h.weight, widths[j]);
        Layer narrowed = layer;
        narrowed.precision.weight = at.weight;
        const auto r = obj->resources(narrowed, at, hwm.device, /*sparse=*/false);
        EXPECT_NEAR(sum[0], r[0], 1e-6) << h.name << " RF " << rf << " at " << widths[j];
        EXPECT_NEAR(sum[1], r[1], 1e-6) << h.name << " RF " << rf << " at " << widths[j];
        // (At RF 1 a weight of 3 or 5 bits, ap_fixed<3,4> or <5,4>, is mostly 0 or -2^k:
        // a shifted negation, no LUTs.)
        if (rf > 1 || widths[j] >= 8) {
          EXPECT_GT(widths[j] < 9 ? r[1] : r[0], 0) << h.name << " at " << widths[j];
        }
      }
    }
  }
  // Objectives that price one width refuse.
  const auto built = jet("ap_fixed<12,4>", 2);  // named: clang-14 cannot capture bindings
  const auto& m = built.first;
  const auto& hwm = built.second;
  const hw::LayerHw& h = hwm.layers[0];
  const auto dsp = hw::make_objective("dsp");
  const hw::GroupSet gs = structures::make_groups(m.layers[h.layer], h, dsp->structure(h));
  EXPECT_THAT(error_of([&] {
                dsp->choice_costs(m.layers[h.layer], h, hwm.device, gs, {0, 8});
              }),
              HasSubstr("needs the dsp-lut or lut-eq objective"));
}

// lut-eq is dsp-lut's two numbers as one, LUT + rate * DSP, in the resources, the group costs
// and the choice costs alike.
TEST(LutEq, IsTheLutsPlusTheRateTimesTheDsps) {
  const auto parts = hw::make_objective("dsp-lut");
  hw::ObjectiveOptions o;
  o.lut_per_dsp = 150;
  const auto eq = hw::make_objective("lut-eq", o);
  EXPECT_EQ(eq->dimensions(), (std::vector<std::string>{"LUT-eq"}));
  EXPECT_EQ(hw::kDefaultLutPerDsp, 173.0);
  const std::vector<int> widths{0, 4, 8, 16};
  for (int64_t rf : {1, 2}) {
    auto [m, hwm] = jet("ap_fixed<16,6>", rf);
    Layer& fc1 = m.layers[hwm.layers[0].layer];
    fc1.widths = Tensor(fc1.weight("kernel").shape, 8.0f);
    fc1.widths.data[0] = 16;
    for (const hw::LayerHw& h : hwm.layers) {
      const Layer& layer = m.layers[h.layer];
      EXPECT_EQ(eq->structure(h), parts->structure(h));
      for (bool sparse : {false, true}) {
        const auto p = parts->resources(layer, h, hwm.device, sparse);
        const auto e = eq->resources(layer, h, hwm.device, sparse);
        ASSERT_EQ(e.size(), 1u);
        EXPECT_DOUBLE_EQ(e[0], p[1] + 150 * p[0]) << h.name << " RF " << rf;
        EXPECT_GT(e[0], 0) << h.name << " RF " << rf;
      }
      const hw::GroupSet gs = structures::make_groups(layer, h, parts->structure(h));
      const hw::ChoiceCosts pc = parts->choice_costs(layer, h, hwm.device, gs, widths);
      const hw::ChoiceCosts ec = eq->choice_costs(layer, h, hwm.device, gs, widths);
      ASSERT_EQ(ec.cost.size(), pc.cost.size() / 2);
      EXPECT_DOUBLE_EQ(ec.fixed[0], pc.fixed[1] + 150 * pc.fixed[0]);
      for (size_t i = 0; i < ec.cost.size(); ++i)
        EXPECT_DOUBLE_EQ(ec.cost[i], pc.cost[2 * i + 1] + 150 * pc.cost[2 * i]);
      const hw::GroupCosts gp = parts->group_costs(layer, h, hwm.device, gs);
      const hw::GroupCosts ge = eq->group_costs(layer, h, hwm.device, gs);
      for (size_t g = 0; g < gs.size(); ++g)
        EXPECT_DOUBLE_EQ(ge.cost[g], gp.cost[2 * g + 1] + 150 * gp.cost[2 * g]);
    }
  }
}

// The multiple-choice problem of a plan: one option per allowed width, limits respected, and
// the exact solver's widths fit the budget in the plan's own cost model.
TEST(DspLut, WidthProblemOfAPlanRespectsLimitsAndBudgets) {
  const auto [m, hwm] = jet("ap_fixed<16,6>", 2);
  const auto obj = hw::make_objective("dsp-lut");
  const auto plan = structures::make_plan(m, hwm, *obj, {"output"});
  const std::vector<int> widths{0, 4, 8, 16};
  const auto choices = structures::make_choice_plan(m, hwm, *obj, plan, widths);
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0.5, 2.0);
  std::vector<std::vector<double>> imp;
  std::vector<std::vector<int>> limit;
  for (const auto& lp : plan.layers) {
    std::vector<double> v;
    for (size_t g = 0; g < lp.groups.size(); ++g) {
      const double s = u(rng);  // width 0 loses s, 4 bits s/8, 8 bits s/100, 16 bits 0
      v.insert(v.end(), {s, s / 8, s / 100, 0.0});
    }
    imp.push_back(std::move(v));
    limit.emplace_back(lp.groups.size(), 16);
  }
  limit[0][0] = 0;  // pruned before
  limit[0][1] = 8;  // narrowed before
  // Half the DSPs of the 16-bit design; LUTs for about a fifth of the groups at 8 bits.
  const double groups = static_cast<double>(plan.group_count());
  const std::vector<double> budget{0.5 * plan.baseline[0],
                                   0.2 * groups * static_cast<double>(hw::lut_multiplier(8, 16))};
  const auto wp = structures::width_problem(plan, choices, imp, budget, limit);
  EXPECT_EQ(wp.problem.n_groups(), plan.group_count());
  EXPECT_EQ(wp.problem.offsets[1], 1u);      // group 0: only "pruned"
  EXPECT_EQ(wp.problem.offsets[2], 1u + 3);  // group 1: 0, 4, 8
  const auto sol = knapsack::solve_choice_exact(wp.problem);
  ASSERT_TRUE(knapsack::feasible(wp.problem, sol.choice));
  const auto chosen = structures::chosen_widths(plan, wp, sol.choice);
  EXPECT_EQ(chosen[0][0], 0);
  EXPECT_LE(chosen[0][1], 8);
  double used[2] = {plan.fixed[0], plan.fixed[1]};
  std::map<int, int> histogram;
  for (size_t li = 0; li < plan.layers.size(); ++li)
    for (size_t g = 0; g < chosen[li].size(); ++g) {
      const size_t j = static_cast<size_t>(std::find(widths.begin(), widths.end(), chosen[li][g]) -
                                           widths.begin());
      for (int d = 0; d < 2; ++d)
        used[d] += choices.costs[li].cost[(g * widths.size() + j) * 2 + d];
      ++histogram[chosen[li][g]];
    }
  EXPECT_LE(used[0], budget[0] + 1e-6);
  EXPECT_LE(used[1], budget[1] + 1e-6);
  // Both kinds of multiplier are used: the LUT budget buys narrow groups beyond the DSPs.
  EXPECT_GT(histogram[16], 0);
  EXPECT_GT(histogram[4] + histogram[8], 0);

  auto bad = imp;
  bad[1][3] = std::nan("");
  EXPECT_THAT(error_of([&] { structures::width_problem(plan, choices, bad, budget); }),
              HasSubstr("importance of group 0 at 16 bits"));
  std::vector<std::vector<int>> tight;
  for (const auto& lp : plan.layers) tight.emplace_back(lp.groups.size(), 16);
  tight[1][2] = 2;
  auto no_zero = structures::make_choice_plan(m, hwm, *obj, plan, {4, 8});
  auto imp2 = imp;
  for (auto& v : imp2) {
    std::vector<double> w;
    for (size_t i = 0; i < v.size(); i += 4) w.insert(w.end(), {v[i + 1], v[i + 2]});
    v = w;
  }
  EXPECT_THAT(error_of([&] { structures::width_problem(plan, no_zero, imp2, budget, tight); }),
              HasSubstr("layer 'fc2': group 2 may not be wider than 2 bits"));
  EXPECT_THAT(error_of([&] {
                structures::width_problem(plan, choices, imp, {1.0, 1.0});
              }),
              HasSubstr("DSP budget 1 is below"));
}

}  // namespace
}  // namespace hwprune
