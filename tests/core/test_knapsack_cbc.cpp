// Cross-check of the exact knapsack solver against the cbc MIP solver (Debian coinor-cbc) on
// medium instances exported with to_lp.
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "hwprune/knapsack/choice.hpp"
#include "hwprune/knapsack/knapsack.hpp"
#include "support/test_support.hpp"

namespace hwprune::knapsack {
namespace {

using test::run_command;
using test::ScratchDir;

struct CbcSolution {
  std::string status;
  double objective = std::nan("");
  std::vector<std::uint8_t> take;
};

// Writes the LP, runs `cbc file.lp solve solu out.txt` and parses out.txt: a first line
// "Optimal - objective value 15.00000000", then "index name value objective-coefficient" rows.
CbcSolution run_cbc(const std::string& lp_text, std::size_t n_vars, const ScratchDir& dir,
                    const std::string& name) {
  CbcSolution sol;
  const std::string lp = dir.write(name + ".lp", lp_text);
  const std::string out = dir.file(name + ".txt");
  const auto r = run_command(fmt::format("cbc '{}' solve solu '{}'", lp, out));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(out);
  std::string line;
  if (!std::getline(in, line)) {
    ADD_FAILURE() << "cbc wrote no solution file " << out << "\n" << r.output;
    return sol;
  }
  const auto at = line.find(" - objective value ");
  if (at == std::string::npos) {
    ADD_FAILURE() << "unexpected cbc solution header: " << line;
    return sol;
  }
  sol.status = line.substr(0, at);
  sol.objective = std::stod(line.substr(at + 19));
  sol.take.assign(n_vars, 0);
  while (std::getline(in, line)) {
    std::istringstream row(line);
    std::size_t index = 0;
    std::string var;
    double x = 0;
    if (!(row >> index >> var >> x)) continue;
    EXPECT_EQ(var, fmt::format("x{}", index));
    if (index < n_vars && x > 0.5) sol.take[index] = 1;
  }
  return sol;
}

CbcSolution run_cbc(const Problem& p, const ScratchDir& dir, const std::string& name) {
  return run_cbc(to_lp(p), p.n_items, dir, name);
}

Problem medium_instance(std::mt19937_64& rng, int t) {
  auto uni = [&](double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); };
  Problem p;
  p.n_items = 40 + rng() % 161;
  p.n_dims = 1 + static_cast<std::size_t>(t % 3);
  const bool classes = t % 2 == 1;
  const int weight_kind = t % 4;  // integers, /36 fractions, 3 decimals
  std::vector<std::vector<double>> class_w(5);
  auto draw = [&]() {
    if (weight_kind == 0) return std::round(uni(1, 60));
    if (weight_kind == 1) return std::round(uni(4, 36)) / 36;
    return std::round(uni(1, 100) * 1000) / 1000;
  };
  for (auto& w : class_w)
    for (std::size_t k = 0; k < p.n_dims; ++k) w.push_back(draw());
  for (std::size_t i = 0; i < p.n_items; ++i) {
    p.value.push_back(rng() % 7 == 0 ? 0.0 : std::round(uni(1, 100) * 1000) / 1000);
    for (std::size_t k = 0; k < p.n_dims; ++k)
      p.weight.push_back(classes ? class_w[i % class_w.size()][k] : draw());
  }
  for (std::size_t k = 0; k < p.n_dims; ++k) {
    double total = 0;
    for (std::size_t i = 0; i < p.n_items; ++i) total += p.weight[i * p.n_dims + k];
    p.capacity.push_back(std::round(total * uni(0.2, 0.7)));
  }
  return p;
}

TEST(knapsackCbc, CbcIsInstalled) {
  const auto r = run_command("command -v cbc");
  ASSERT_EQ(r.exit_code, 0)
      << "cbc not found on PATH: install the Debian package coinor-cbc (apt-get install "
         "coinor-cbc) to run the knapsack cross-check";
}

TEST(knapsackCbc, ExactMatchesCbcOnMediumInstances) {
  ASSERT_EQ(run_command("command -v cbc").exit_code, 0)
      << "cbc not found: install the Debian package coinor-cbc";
  ScratchDir dir;
  std::mt19937_64 rng(42);
  for (int t = 0; t < 12; ++t) {
    const Problem p = medium_instance(rng, t);
    const std::string what = fmt::format("instance {}: {} items, {} dims", t, p.n_items, p.n_dims);
    const Solution ours = solve_exact(p);
    ASSERT_TRUE(feasible(p, ours.take)) << what;
    EXPECT_TRUE(ours.optimal) << what;
    const CbcSolution cbc = run_cbc(p, dir, fmt::format("t{}", t));
    ASSERT_EQ(cbc.status, "Optimal") << what;
    EXPECT_NEAR(cbc.objective, ours.value, 1e-6 * std::max(1.0, std::abs(ours.value)))
        << what << " (" << ours.method << ")";
    // cbc's own selection obeys our rule and is no better than ours.
    EXPECT_TRUE(feasible(p, cbc.take)) << what;
    EXPECT_LE(value_of(p, cbc.take), ours.value * (1 + 1e-9)) << what;
  }
}

// Pruning-like: few layers, each a class of identical (DSP, BRAM) costs with W/36 BRAM.
TEST(knapsackCbc, ExactMatchesCbcOnPruningLikeInstance) {
  ASSERT_EQ(run_command("command -v cbc").exit_code, 0)
      << "cbc not found: install the Debian package coinor-cbc";
  ScratchDir dir;
  std::mt19937_64 rng(5);
  std::lognormal_distribution<double> imp(0, 1);
  for (double budget : {0.5, 0.1}) {
    Problem p;
    p.n_dims = 2;
    const int widths[4] = {16, 8, 12, 18};
    for (int l = 0; l < 4; ++l) {
      for (int g = 0; g < 50; ++g) {
        p.value.push_back(std::round(imp(rng) * 1e4) / 1e4);
        p.weight.push_back(1);
        p.weight.push_back(widths[l] / 36.0);
      }
    }
    p.n_items = p.value.size();
    p.capacity = {budget * static_cast<double>(p.n_items), budget * (16 + 8 + 12 + 18) * 50 / 36.0};
    const Solution ours = solve_exact(p);
    EXPECT_TRUE(ours.optimal);
    const CbcSolution cbc = run_cbc(p, dir, fmt::format("pruning{}", budget));
    ASSERT_EQ(cbc.status, "Optimal");
    EXPECT_NEAR(cbc.objective, ours.value, 1e-6 * std::max(1.0, ours.value)) << budget;
    EXPECT_TRUE(feasible(p, cbc.take));
    EXPECT_LE(value_of(p, cbc.take), ours.value * (1 + 1e-9));
  }
}

// The multiple-choice knapsack against cbc on medium instances (40-160 groups of 2-5 options,
// 1-3 dimensions, values of both signs, an always-free "pruned" option in half of them).
TEST(knapsackCbc, ChoiceExactMatchesCbcOnMediumInstances) {
  ASSERT_EQ(run_command("command -v cbc").exit_code, 0)
      << "cbc not found: install the Debian package coinor-cbc";
  ScratchDir dir;
  std::mt19937_64 rng(77);
  auto uni = [&](double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); };
  for (int t = 0; t < 10; ++t) {
    ChoiceProblem p;
    p.n_dims = 1 + static_cast<std::size_t>(t % 3);
    const std::size_t groups = 40 + rng() % 121;
    std::vector<double> heaviest(p.n_dims, 0.0);
    for (std::size_t g = 0; g < groups; ++g) {
      const std::size_t options = 2 + rng() % 4;
      for (std::size_t o = 0; o < options; ++o) {
        const bool free = t % 2 == 0 && o == 0;
        p.value.push_back(free ? 0.0 : std::round(uni(-20, 100) * 1000) / 1000);
        for (std::size_t k = 0; k < p.n_dims; ++k)
          p.weight.push_back(free ? 0.0 : std::round(uni(0, 40)));
      }
      for (std::size_t k = 0; k < p.n_dims; ++k) {
        double m = 0;
        for (std::size_t o = p.value.size() - options; o < p.value.size(); ++o)
          m = std::max(m, p.weight[o * p.n_dims + k]);
        heaviest[k] += m;
      }
      p.offsets.push_back(p.value.size());
    }
    for (double h : heaviest) p.capacity.push_back(std::round(h * uni(0.3, 0.6)));
    // Feasible: the capacities hold the option of least summed weight of every group.
    std::vector<double> lightest(p.n_dims, 0.0);
    for (std::size_t g = 0; g < groups; ++g) {
      std::size_t best = p.offsets[g];
      auto sum = [&](std::size_t o) {
        double x = 0;
        for (std::size_t k = 0; k < p.n_dims; ++k) x += p.weight[o * p.n_dims + k];
        return x;
      };
      for (std::size_t o = p.offsets[g]; o < p.offsets[g + 1]; ++o)
        if (sum(o) < sum(best)) best = o;
      for (std::size_t k = 0; k < p.n_dims; ++k) lightest[k] += p.weight[best * p.n_dims + k];
    }
    for (std::size_t k = 0; k < p.n_dims; ++k) p.capacity[k] = std::max(p.capacity[k], lightest[k]);
    const std::string what = fmt::format("instance {}: {} groups, {} dims", t, groups, p.n_dims);
    const ChoiceSolution ours = solve_choice_exact(p);
    ASSERT_TRUE(feasible(p, ours.choice)) << what;
    EXPECT_TRUE(ours.optimal) << what;
    const CbcSolution cbc = run_cbc(to_lp(p), p.n_options(), dir, fmt::format("choice{}", t));
    ASSERT_EQ(cbc.status, "Optimal") << what;
    EXPECT_NEAR(cbc.objective, ours.value, 1e-6 * std::max(1.0, std::abs(ours.value)))
        << what << " (" << ours.nodes << " nodes)";
    // cbc's own choice: exactly one option per group, within our rule, no better than ours.
    std::vector<std::size_t> theirs;
    for (std::size_t g = 0; g < groups; ++g) {
      int taken = 0;
      for (std::size_t o = p.offsets[g]; o < p.offsets[g + 1]; ++o)
        if (cbc.take[o]) {
          ++taken;
          theirs.push_back(o);
        }
      ASSERT_EQ(taken, 1) << what << ", group " << g;
    }
    EXPECT_TRUE(feasible(p, theirs)) << what;
    EXPECT_LE(value_of(p, theirs), ours.value + 1e-9 * std::max(1.0, std::abs(ours.value)));
  }
}

}  // namespace
}  // namespace hwprune::knapsack
