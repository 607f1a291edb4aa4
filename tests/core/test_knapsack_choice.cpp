// The multiple-choice knapsack (one option per group) against brute force on thousands of small
// instances, the greedy's feasibility and bound, the LP text, and refused problems.
#include <cmath>
#include <random>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/knapsack/choice.hpp"
#include "support/test_support.hpp"

namespace hwprune::knapsack {
namespace {

using ::testing::HasSubstr;

// The best value over every choice that fits and `admit`s (NaN when none does), by
// enumeration.
template <typename Admit>
double best_choice(const ChoiceProblem& p, Admit admit) {
  const std::size_t G = p.n_groups();
  std::vector<std::size_t> choice(G);
  for (std::size_t g = 0; g < G; ++g) choice[g] = p.offsets[g];
  double best = std::nan("");
  while (true) {
    if (admit(choice) && feasible(p, choice)) {
      const double v = value_of(p, choice);
      if (std::isnan(best) || v > best) best = v;
    }
    std::size_t g = 0;
    while (g < G && ++choice[g] == p.offsets[g + 1]) {
      choice[g] = p.offsets[g];
      ++g;
    }
    if (g == G) return best;
  }
}
double brute_force(const ChoiceProblem& p) {
  return best_choice(p, [](const std::vector<std::size_t>&) { return true; });
}

// Small random instances of several kinds: integer or fractional weights, values of both
// signs with ties, identical options, zero capacities, a free option or none.
ChoiceProblem small_instance(std::mt19937_64& rng, int t) {
  auto uni = [&](double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); };
  ChoiceProblem p;
  p.n_dims = 1 + static_cast<std::size_t>(t % 3);
  const std::size_t groups = rng() % 8;  // up to 7 groups of up to 5 options
  const int kind = t % 5;
  auto weight = [&] {
    if (kind == 0) return std::round(uni(0, 10));
    if (kind == 1) return std::round(uni(1, 36)) / 36;
    return std::round(uni(0, 100) * 1000) / 1000;
  };
  for (std::size_t g = 0; g < groups; ++g) {
    const std::size_t options = 1 + rng() % 5;
    for (std::size_t o = 0; o < options; ++o) {
      if (o > 0 && rng() % 6 == 0) {  // a copy of the previous option
        p.value.push_back(p.value.back());
        for (std::size_t k = 0; k < p.n_dims; ++k)
          p.weight.push_back(p.weight[p.weight.size() - p.n_dims]);
        continue;
      }
      const bool free = kind == 3 && o == 0;
      p.value.push_back(free ? 0.0 : kind == 4 ? std::round(uni(-5, 10)) : uni(-10, 50));
      for (std::size_t k = 0; k < p.n_dims; ++k) p.weight.push_back(free ? 0.0 : weight());
    }
    p.offsets.push_back(p.value.size());
  }
  for (std::size_t k = 0; k < p.n_dims; ++k) {
    double total = 0;
    for (std::size_t o = 0; o < p.value.size(); ++o) total += p.weight[o * p.n_dims + k];
    const double share = rng() % 10 == 0 ? 0.0 : uni(0.1, 0.6);
    p.capacity.push_back(kind == 0 ? std::round(total * share) : total * share);
  }
  return p;
}

TEST(ChoiceKnapsack, ExactEqualsBruteForceOnThousandsOfSmallInstances) {
  std::mt19937_64 rng(2026);
  int solved = 0, infeasible = 0;
  for (int t = 0; t < 4000; ++t) {
    const ChoiceProblem p = small_instance(rng, t);
    const std::string what = fmt::format("instance {}: {} groups, {} options, {} dims", t,
                                         p.n_groups(), p.n_options(), p.n_dims);
    const double best = brute_force(p);
    if (std::isnan(best)) {
      ++infeasible;
      EXPECT_THAT(test::error_of([&] { solve_choice_exact(p); }), HasSubstr("fits the capacities"))
          << what;
      continue;
    }
    ++solved;
    const ChoiceSolution s = solve_choice_exact(p);
    ASSERT_TRUE(feasible(p, s.choice)) << what;
    EXPECT_EQ(s.value, value_of(p, s.choice)) << what;
    EXPECT_NEAR(s.value, best, 1e-9 * std::max(1.0, std::abs(best))) << what;
    EXPECT_TRUE(s.optimal) << what;
    // The greedy fits when it answers, is no better than the optimum, and its bound holds.
    try {
      const ChoiceSolution g = solve_choice_greedy(p);
      ASSERT_TRUE(feasible(p, g.choice)) << what;
      EXPECT_LE(g.value, best + 1e-9 * std::max(1.0, std::abs(best))) << what;
      EXPECT_GE(g.upper_bound, best - 1e-9 * std::max(1.0, std::abs(best))) << what;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("the greedy found none")) << what;
    }
  }
  EXPECT_GT(solved, 2000);  // the generator makes mostly feasible instances
  EXPECT_GT(infeasible, 20);
}

// Class coupling on the same small instances: groups in up to 3 classes, option labels in
// 0..3 (0 free). Brute force keeps the choices in which no class uses two non-zero labels.
double brute_force_by_class(const ChoiceProblem& p, const ClassCoupling& c) {
  return best_choice(p, [&](const std::vector<std::size_t>& choice) {
    std::vector<int> used(3, 0);
    for (std::size_t g = 0; g < choice.size(); ++g) {
      const int l = c.option_label[choice[g]];
      int& u = used[c.group_class[g]];
      if (l != 0 && u != 0 && u != l) return false;
      if (l != 0) u = l;
    }
    return true;
  });
}

TEST(ChoiceKnapsack, ByClassEqualsBruteForceOnThousandsOfSmallInstances) {
  std::mt19937_64 rng(2027);
  int solved = 0, infeasible = 0, coupled = 0;
  for (int t = 0; t < 4000; ++t) {
    const ChoiceProblem p = small_instance(rng, t);
    ClassCoupling c;
    for (std::size_t g = 0; g < p.n_groups(); ++g) c.group_class.push_back(rng() % 3);
    for (std::size_t o = 0; o < p.n_options(); ++o)
      c.option_label.push_back(static_cast<int>(rng() % 4));
    const std::string what = fmt::format("instance {}: {} groups, {} options, {} dims", t,
                                         p.n_groups(), p.n_options(), p.n_dims);
    const double best = brute_force_by_class(p, c);
    if (std::isnan(best)) {
      ++infeasible;
      EXPECT_THAT(test::error_of([&] { solve_choice_by_class(p, c); }),
                  HasSubstr("fits the capacities"))
          << what;
      continue;
    }
    ++solved;
    const double free = brute_force(p);
    if (free > best + 1e-9 * std::max(1.0, std::abs(best))) ++coupled;
    const ChoiceSolution s = solve_choice_by_class(p, c);
    ASSERT_TRUE(feasible(p, s.choice)) << what;
    EXPECT_EQ(s.value, value_of(p, s.choice)) << what;
    EXPECT_NEAR(s.value, best, 1e-9 * std::max(1.0, std::abs(best))) << what;
    EXPECT_TRUE(s.optimal) << what;
    EXPECT_GE(s.upper_bound, s.value) << what;
    // The greedy mode fits when it answers, is no better than the optimum, and its bound holds.
    try {
      const ChoiceSolution g = solve_choice_by_class(p, c, {}, true);
      ASSERT_TRUE(feasible(p, g.choice)) << what;
      EXPECT_LE(g.value, best + 1e-9 * std::max(1.0, std::abs(best))) << what;
      EXPECT_GE(g.upper_bound, best - 1e-9 * std::max(1.0, std::abs(best))) << what;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("the greedy found none")) << what;
    }
  }
  EXPECT_GT(solved, 1500);
  EXPECT_GT(infeasible, 20);
  EXPECT_GT(coupled, 500);  // the coupling binds on many instances
}

TEST(ChoiceKnapsack, ByClassRefusesMismatchedCouplingsAndTooManyAssignments) {
  ChoiceProblem p;
  p.n_dims = 1;
  p.capacity = {10};
  for (int g = 0; g < 13; ++g) {
    for (int o = 0; o < 3; ++o) {
      p.value.push_back(o);
      p.weight.push_back(o);
    }
    p.offsets.push_back(p.value.size());
  }
  ClassCoupling c;
  c.group_class.assign(12, 0);
  c.option_label.assign(p.n_options(), 0);
  EXPECT_THAT(test::error_of([&] { solve_choice_by_class(p, c); }),
              HasSubstr("12 group classes for 13 groups"));
  c.group_class.assign(13, 0);
  c.option_label.back() = -2;
  EXPECT_THAT(test::error_of([&] { solve_choice_by_class(p, c); }), HasSubstr("label -2"));
  // 13 classes of two labels each: 8192 assignments.
  for (std::size_t g = 0; g < 13; ++g) {
    c.group_class[g] = g;
    for (int o = 0; o < 3; ++o) c.option_label[g * 3 + o] = o;
  }
  EXPECT_THAT(test::error_of([&] { solve_choice_by_class(p, c); }),
              HasSubstr("more than 4096 assignments"));
  c.group_class.assign(13, 0);  // one class: 2 assignments, the best takes label 1 (value 1 each)
  const ChoiceSolution s = solve_choice_by_class(p, c);
  EXPECT_TRUE(s.optimal);
  EXPECT_EQ(s.value, 10);  // ten groups at label 1 (weight 1), or five at label 2: both 10
}

// Pruning-like instances (every group: pruned, a 4-bit or 8-bit LUT multiplier, or a DSP,
// against DSP and LUT budgets): the greedy always answers (pruning is free) and is within 1%
// of the proven bound; 100 groups are solved to optimality, 400 within a time limit with a
// valid bound.
ChoiceProblem pruning_like(int groups) {
  std::mt19937_64 rng(9);
  std::lognormal_distribution<double> imp(0, 1);
  ChoiceProblem p;
  p.n_dims = 2;
  const double lut[4] = {0, 20, 70, 0}, dsp[4] = {0, 0, 0, 1}, keep[4] = {0, 0.6, 0.95, 1.0};
  for (int g = 0; g < groups; ++g) {
    const double base = imp(rng);
    for (int o = 0; o < 4; ++o) {
      p.value.push_back(base * keep[o]);
      p.weight.push_back(dsp[o]);
      p.weight.push_back(lut[o]);
    }
    p.offsets.push_back(p.value.size());
  }
  p.capacity = {groups / 4.0, groups * 20.0};
  return p;
}

TEST(ChoiceKnapsack, GreedyIsCloseAndTheBoundHoldsOnPruningLikeInstances) {
  for (int groups : {100, 400}) {
    SCOPED_TRACE(groups);
    const ChoiceProblem p = pruning_like(groups);
    const ChoiceSolution exact = solve_choice_exact(p, {.time_limit_s = 1.0});
    const ChoiceSolution greedy = solve_choice_greedy(p);
    ASSERT_TRUE(feasible(p, exact.choice));
    ASSERT_TRUE(feasible(p, greedy.choice));
    if (groups == 100) {
      EXPECT_TRUE(exact.optimal) << exact.nodes << " nodes";
    }
    EXPECT_GE(exact.value, greedy.value);
    EXPECT_LE(exact.value, exact.upper_bound);
    EXPECT_GE(greedy.upper_bound, exact.value);
    EXPECT_GE(greedy.value, 0.99 * exact.upper_bound);
    EXPECT_LE(exact.gap(), 1e-3);
  }
}

TEST(ChoiceKnapsack, EmptyAndSingleOptionProblems) {
  ChoiceProblem empty;
  empty.n_dims = 1;
  empty.capacity = {3};
  const ChoiceSolution e = solve_choice_exact(empty);
  EXPECT_TRUE(e.choice.empty());
  EXPECT_EQ(e.method, "empty");
  ChoiceProblem one;
  one.n_dims = 1;
  one.value = {-2.5, 4};
  one.weight = {1, 2};
  one.offsets = {0, 1, 2};
  one.capacity = {3};
  const ChoiceSolution s = solve_choice_exact(one);
  EXPECT_EQ(s.choice, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(s.value, 1.5);
  one.capacity = {2.5};
  EXPECT_THAT(test::error_of([&] { solve_choice_exact(one); }),
              HasSubstr("no choice of the 2 groups fits the capacities"));
}

TEST(ChoiceKnapsack, LpTextNamesEveryRow) {
  ChoiceProblem p;
  p.n_dims = 2;
  p.value = {0, 1.5, -0.25};
  p.weight = {0, 0, 1, 2, 3, 0};
  p.offsets = {0, 2, 3};
  p.capacity = {4, 5};
  EXPECT_EQ(to_lp(p),
            "\\ hwprune multiple-choice knapsack: 2 groups, 3 options, 2 dimensions\n"
            "Maximize\n obj: 0 x0 + 1.5 x1 - 0.25 x2\n"
            "Subject To\n g0: x0 + x1 = 1\n g1: x2 = 1\n c0: 1 x1 + 3 x2 <= 4\n"
            " c1: 2 x1 <= 5\nBinary\n x0\n x1\n x2\nEnd\n");
}

TEST(ChoiceKnapsack, MalformedProblemsAreRefusedNamingTheFault) {
  auto base = [] {
    ChoiceProblem p;
    p.n_dims = 1;
    p.value = {1, 2};
    p.weight = {1, 1};
    p.offsets = {0, 1, 2};
    p.capacity = {1};
    return p;
  };
  auto refused = [](const ChoiceProblem& p) { return test::error_of([&] { validate(p); }); };
  ChoiceProblem p = base();
  p.offsets = {0, 0, 2};
  EXPECT_THAT(refused(p), HasSubstr("group 0 has no option"));
  p = base();
  p.offsets = {0, 1};
  EXPECT_THAT(refused(p), HasSubstr("offsets end at 1, but there are 2 options"));
  p = base();
  p.value[1] = NAN;
  EXPECT_THAT(refused(p), HasSubstr("value of option 1 is nan"));
  p = base();
  p.weight[0] = -1;
  EXPECT_THAT(refused(p), HasSubstr("weight of option 0 in dimension 0 is -1"));
  p = base();
  p.capacity = {INFINITY};
  EXPECT_THAT(refused(p), HasSubstr("capacity of dimension 0 is inf"));
  p = base();
  p.weight = {1};
  EXPECT_THAT(refused(p), HasSubstr("weight has 1 entries, expected 2"));
  p = base();
  EXPECT_THAT(test::error_of([&] {
                feasible(p, {0, 0});
              }),
              HasSubstr("option 0 is not one of group 1"));
}

}  // namespace
}  // namespace hwprune::knapsack
