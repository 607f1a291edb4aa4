// Sparsity schedulers: target sequences, repair steps, stopping and checkpoint state.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "hwprune/prune/config.hpp"
#include "hwprune/prune/scheduler.hpp"
#include "hwprune/util/error.hpp"

using namespace hwprune;
using namespace hwprune::prune;

namespace {

// Drives a scheduler with a fixed verdict per trial; returns the targets tried.
std::vector<double> drive(Scheduler& s, const std::vector<bool>& verdicts) {
  std::vector<double> tried;
  auto t = s.first();
  for (size_t i = 0; t && i < verdicts.size(); ++i) {
    tried.push_back(*t);
    t = verdicts[i] ? s.accepted(*t) : s.rejected(*t);
  }
  if (t) tried.push_back(*t);  // the target that would come next
  return tried;
}

void expect_seq(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << "at " << i;
}

}  // namespace

TEST(Scheduler, ConstantStepsToFinalAndClips) {
  Scheduler s({SchedulerKind::Constant, 0.0, 0.5, 0.2, 8, 3, 0.01});
  expect_seq(drive(s, {true, true, true}), {0.2, 0.4, 0.5});
  EXPECT_NEAR(s.last_accepted(), 0.5, 1e-12);
  EXPECT_FALSE(s.accepted(0.5));
}

TEST(Scheduler, ConstantRepairHalvesTheStepUntilMinStep) {
  Scheduler s({SchedulerKind::Constant, 0.0, 1.0, 0.2, 8, 3, 0.04});
  // 0.2 ok, 0.4 fails -> 0.3 (step 0.1) ok -> 0.4 fails -> 0.35 (step 0.05) fails -> step
  // 0.025 < min 0.04: stop.
  expect_seq(drive(s, {true, false, true, false, false}), {0.2, 0.4, 0.3, 0.4, 0.35});
  EXPECT_NEAR(s.last_accepted(), 0.3, 1e-12);
}

TEST(Scheduler, PolynomialFollowsTheCubicAndRepairsTowardsTheMidpoint) {
  Scheduler s({SchedulerKind::Polynomial, 0.0, 0.8, 0.1, 4, 3, 0.01});
  auto poly = [](int k) { return 0.8 + (0.0 - 0.8) * std::pow(1.0 - k / 4.0, 3); };
  auto t1 = s.first();
  ASSERT_TRUE(t1);
  EXPECT_NEAR(*t1, poly(1), 1e-12);  // 0.4625
  auto t2 = s.accepted(*t1);
  EXPECT_NEAR(*t2, poly(2), 1e-12);  // 0.7
  // 0.7 rejected: new plan from 0.4625 to the midpoint 0.58125 over the 3 steps left.
  auto t3 = s.rejected(*t2);
  ASSERT_TRUE(t3);
  const double from = poly(1), to = 0.5 * (poly(1) + poly(2));
  auto plan = [&](int k) { return to + (from - to) * std::pow(1.0 - k / 3.0, 3); };
  EXPECT_NEAR(*t3, plan(1), 1e-12);
  auto t4 = s.accepted(*t3);
  EXPECT_NEAR(*t4, plan(2), 1e-12);
  auto t5 = s.accepted(*t4);
  EXPECT_NEAR(*t5, to, 1e-12);
  EXPECT_FALSE(s.accepted(*t5));
  EXPECT_NEAR(s.last_accepted(), to, 1e-12);
}

TEST(Scheduler, PolynomialAllAcceptedEndsAtFinal) {
  Scheduler s({SchedulerKind::Polynomial, 0.1, 0.9, 0.1, 5, 3, 0.01});
  auto seq = drive(s, {true, true, true, true, true});
  ASSERT_EQ(seq.size(), 5u);
  EXPECT_NEAR(seq.back(), 0.9, 1e-12);
  for (size_t i = 1; i < seq.size(); ++i) EXPECT_GT(seq[i], seq[i - 1]);
  // Decreasing increments (large steps first).
  for (size_t i = 2; i < seq.size(); ++i) EXPECT_LT(seq[i] - seq[i - 1], seq[i - 1] - seq[i - 2]);
}

TEST(Scheduler, BinarySearchBisects) {
  Scheduler s({SchedulerKind::Binary, 0.0, 1.0, 0.1, 8, 3, 0.1});
  // 0.5 ok -> 0.75 fails -> 0.625 ok -> 0.6875: interval [0.625, 0.75] is 0.125 wide, then
  // 0.6875 fails -> [0.625, 0.6875] < 0.1: stop.
  expect_seq(drive(s, {true, false, true, false}), {0.5, 0.75, 0.625, 0.6875});
  EXPECT_NEAR(s.last_accepted(), 0.625, 1e-12);
}

TEST(Scheduler, StateRoundTripsAndContinuesIdentically) {
  for (auto kind : {SchedulerKind::Constant, SchedulerKind::Polynomial, SchedulerKind::Binary}) {
    Scheduler a({kind, 0.0, 0.9, 0.2, 6, 3, 0.02});
    auto t = a.first();
    t = a.accepted(*t);
    t = a.rejected(*t);
    ASSERT_TRUE(t) << to_string(kind);
    Scheduler b({kind, 0.0, 0.9, 0.2, 6, 3, 0.02});
    b.load(a.save());
    const auto na = a.accepted(*t), nb = b.accepted(*t);
    ASSERT_EQ(na.has_value(), nb.has_value());
    if (na) {
      EXPECT_EQ(*na, *nb);
    }
  }
  Scheduler c({SchedulerKind::Binary, 0.0, 0.9, 0.2, 6, 3, 0.02});
  Scheduler d({SchedulerKind::Constant, 0.0, 0.9, 0.2, 6, 3, 0.02});
  EXPECT_THROW(d.load(c.save()), Error);
  EXPECT_THROW(d.load("{not json"), Error);
}

TEST(Scheduler, InvalidConfigurationsAreErrors) {
  EXPECT_THROW(Scheduler({SchedulerKind::Constant, 0.5, 0.4, 0.1, 8, 3, 0.01}), Error);
  EXPECT_THROW(Scheduler({SchedulerKind::Constant, 0.0, 1.5, 0.1, 8, 3, 0.01}), Error);
  EXPECT_THROW(Scheduler({SchedulerKind::Constant, 0.0, 0.9, 0.0, 8, 3, 0.01}), Error);
  EXPECT_THROW(Scheduler({SchedulerKind::Polynomial, 0.0, 0.9, 0.1, 0, 3, 0.01}), Error);
  EXPECT_THROW(Scheduler({SchedulerKind::Binary, 0.0, 0.9, 0.1, 8, 3, 0.0}), Error);
  EXPECT_THROW(parse_scheduler("cubic"), Error);
}

TEST(Acceptance, IncreasingAndDecreasingMetrics) {
  // Accuracy (increasing): 0.99 * 0.9 = 0.891.
  EXPECT_TRUE(acceptable(0.891, 0.9, 0.99, true));
  EXPECT_TRUE(acceptable(0.95, 0.9, 0.99, true));
  EXPECT_FALSE(acceptable(0.8909, 0.9, 0.99, true));
  // MSE (decreasing): 1.05 * 0.2 = 0.21.
  EXPECT_TRUE(acceptable(0.21, 0.2, 1.05, false));
  EXPECT_TRUE(acceptable(0.1, 0.2, 1.05, false));
  EXPECT_FALSE(acceptable(0.2101, 0.2, 1.05, false));
  EXPECT_FALSE(acceptable(std::nan(""), 0.2, 1.05, false));
  EXPECT_TRUE(is_increasing(Metric::Accuracy));
  EXPECT_FALSE(is_increasing(Metric::MSE));
  EXPECT_FALSE(is_increasing(Metric::Loss));
}
