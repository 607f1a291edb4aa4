// Sparsity schedulers: target sequences, repair steps, stopping and checkpoint state.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

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

TEST(Scheduler, RepairBisectsBetweenAcceptedAndFailed) {
  Scheduler s({SchedulerKind::Constant, 0.0, 1.0, 0.2, 8, 3, 0.04});
  // 0.2 ok, 0.4 fails -> 0.3 ok (narrowly) -> 0.35 fails -> 0.325 ok -> [0.325, 0.35] is
  // narrower than 0.04: stop.
  expect_seq(drive(s, {true, false, true, false, true}), {0.2, 0.4, 0.3, 0.35, 0.325});
  EXPECT_NEAR(s.last_accepted(), 0.325, 1e-12);
  ASSERT_TRUE(s.failed());
  EXPECT_NEAR(*s.failed(), 0.35, 1e-12);
}

TEST(Scheduler, AFailedTargetIsRetriedAfterAClearAcceptanceAndIsNoCeiling) {
  Scheduler s({SchedulerKind::Constant, 0.0, 1.0, 0.2, 8, 3, 0.04});
  auto t = s.first();  // 0.2
  t = s.accepted(*t);  // 0.4
  t = s.rejected(*t);  // 0.3
  ASSERT_TRUE(t);
  EXPECT_NEAR(*t, 0.3, 1e-12);
  t = s.accepted(*t, /*clearly=*/true);  // retry the failed 0.4
  ASSERT_TRUE(t);
  EXPECT_NEAR(*t, 0.4, 1e-12);
  t = s.accepted(*t);  // 0.4 passes: the schedule goes on past it
  EXPECT_FALSE(s.failed());
  ASSERT_TRUE(t);
  EXPECT_NEAR(*t, 0.6, 1e-12);
}

TEST(Scheduler, PolynomialFollowsTheCubicAndResumesItAfterARepair) {
  Scheduler s({SchedulerKind::Polynomial, 0.0, 0.8, 0.1, 4, 3, 0.01});
  auto poly = [](int k) { return 0.8 + (0.0 - 0.8) * std::pow(1.0 - k / 4.0, 3); };
  auto t1 = s.first();
  ASSERT_TRUE(t1);
  EXPECT_NEAR(*t1, poly(1), 1e-12);  // 0.4625
  auto t2 = s.accepted(*t1);
  EXPECT_NEAR(*t2, poly(2), 1e-12);  // 0.7
  // 0.7 rejected: bisect [0.4625, 0.7].
  auto t3 = s.rejected(*t2);
  ASSERT_TRUE(t3);
  EXPECT_NEAR(*t3, 0.5 * (poly(1) + poly(2)), 1e-12);
  auto t4 = s.accepted(*t3);  // narrowly: bisect on
  EXPECT_NEAR(*t4, 0.5 * (*t3 + poly(2)), 1e-12);
  auto t5 = s.accepted(*t4, true);  // clearly: retry 0.7
  EXPECT_NEAR(*t5, poly(2), 1e-12);
  auto t6 = s.accepted(*t5);  // passes: the plan goes on
  EXPECT_NEAR(*t6, poly(3), 1e-12);
  auto t7 = s.accepted(*t6);
  EXPECT_NEAR(*t7, 0.8, 1e-12);
  EXPECT_FALSE(s.accepted(*t7));
  EXPECT_NEAR(s.last_accepted(), 0.8, 1e-12);
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

// A synthetic accept/reject oracle: a target passes when it is at most `limit`, clearly when
// at most limit - 0.05; `noisy` targets fail on their first trial whatever they are (a step
// that fell just short by noise). Every scheduler ends with the highest passing target found
// to within min_step, noisy failures included, in few trials.
TEST(Scheduler, FindsTheHighestPassingTargetDespiteNoisyFailures) {
  for (auto kind : {SchedulerKind::Constant, SchedulerKind::Polynomial, SchedulerKind::Binary})
    for (double limit : {0.137, 0.42, 0.61, 0.873})
      for (bool noisy : {false, true}) {
        const double min_step = 0.01;
        Scheduler s({kind, 0.0, 0.95, 0.1, 8, 3, min_step});
        std::vector<double> tried;
        bool noise_spent = false;
        auto t = s.first();
        int trials = 0;
        while (t && trials < 100) {
          ++trials;
          tried.push_back(*t);
          // The first target below the limit fails once, by noise.
          const bool noise = noisy && !noise_spent && *t <= limit && *t > 0.05;
          if (noise) noise_spent = true;
          const bool pass = *t <= limit + 1e-12 && !noise;
          t = pass ? s.accepted(*t, *t <= limit - 0.05) : s.rejected(*t);
        }
        const std::string what = fmt::format("{} limit {} noisy {}: tried {}", to_string(kind),
                                             limit, noisy, fmt::join(tried, " "));
        EXPECT_LT(trials, 30) << what;
        EXPECT_LE(s.last_accepted(), limit + 1e-12) << what;
        EXPECT_GT(s.last_accepted(), limit - min_step) << what;
      }
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
