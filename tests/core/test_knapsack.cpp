// The 0/1 multi-dimensional knapsack solvers against brute force and independent oracles.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/knapsack/knapsack.hpp"
#include "hwprune/util/error.hpp"
#include "support/test_support.hpp"

namespace hwprune::knapsack {
namespace {

using test::error_of;
using ::testing::HasSubstr;

// Best value over all 2^n selections (n <= ~16) that satisfy feasible().
double brute_force(const Problem& p) {
  const std::size_t n = p.n_items, d = p.n_dims;
  double best = 0;
  std::vector<std::uint8_t> take(n, 0);
  std::vector<double> sum(d, 0.0);
  std::vector<double> cap(d);
  for (std::size_t k = 0; k < d; ++k)
    cap[k] = p.capacity[k] + kFeasTol * std::max(1.0, p.capacity[k]);
  // Recursive enumeration; a partial sum over the limit stays over it (weights are >= 0).
  auto rec = [&](auto&& self, std::size_t i, double value) -> void {
    if (i == n) {
      if (value > best && feasible(p, take)) best = value;
      return;
    }
    self(self, i + 1, value);
    std::vector<double> saved = sum;
    bool over = false;
    for (std::size_t k = 0; k < d; ++k) {
      sum[k] += p.weight[i * d + k];
      over = over || sum[k] > cap[k] * (1 + 1e-12);
    }
    if (!over) {
      take[i] = 1;
      self(self, i + 1, value + p.value[i]);
      take[i] = 0;
    }
    sum = saved;
  };
  rec(rec, 0, 0.0);
  return best;
}

bool close(double a, double b, double rel) {
  return std::abs(a - b) <= rel * std::max(1.0, std::max(std::abs(a), std::abs(b)));
}

// A small random instance exercising the special cases: ties, zero values, zero weights, heavy
// items, zero capacity, identical weight vectors, integer and fractional weights.
Problem random_small(std::mt19937_64& rng, std::size_t max_items) {
  auto uni = [&](double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); };
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  Problem p;
  p.n_items = static_cast<std::size_t>(pick(static_cast<int>(max_items) + 1));
  p.n_dims = static_cast<std::size_t>(pick(10) == 0 ? 0 : 1 + pick(3));
  const int value_kind = pick(3), weight_kind = pick(4);
  const bool classes = pick(2) == 0;
  std::vector<std::vector<double>> class_w(1 + static_cast<std::size_t>(pick(3)));
  auto draw_weight = [&]() {
    switch (weight_kind) {
      case 0:
        return static_cast<double>(pick(11));  // small integers, many ties
      case 1:
        return static_cast<double>(pick(37)) / 36;  // BRAM-like fractions
      case 2:
        return std::round(uni(0, 100) * 1000) / 1000;
      default:
        return uni(0, 1);
    }
  };
  for (auto& w : class_w)
    for (std::size_t k = 0; k < p.n_dims; ++k) w.push_back(draw_weight());
  for (std::size_t i = 0; i < p.n_items; ++i) {
    double v = value_kind == 0   ? static_cast<double>(pick(6))
               : value_kind == 1 ? uni(0, 10)
                                 : uni(100, 101);
    if (pick(8) == 0) v = 0;
    p.value.push_back(v);
    const bool zero = pick(10) == 0;
    const auto& cw = class_w[static_cast<std::size_t>(pick(static_cast<int>(class_w.size())))];
    for (std::size_t k = 0; k < p.n_dims; ++k)
      p.weight.push_back(zero ? 0.0 : classes ? cw[k] : draw_weight());
  }
  for (std::size_t k = 0; k < p.n_dims; ++k) {
    double total = 0;
    for (std::size_t i = 0; i < p.n_items; ++i) total += p.weight[i * p.n_dims + k];
    double c = 0;
    switch (pick(6)) {
      case 0:
        c = 0;
        break;
      case 1: {  // exactly the weight of a random subset: the constraint is met with equality
        for (std::size_t i = 0; i < p.n_items; ++i)
          if (pick(2)) c += p.weight[i * p.n_dims + k];
        break;
      }
      case 2:
        c = total * 2;
        break;  // not binding
      default:
        c = total * uni(0.05, 0.8);
    }
    p.capacity.push_back(c);
  }
  // Items heavier than the capacity in some dimension.
  if (p.n_dims > 0 && p.n_items > 0 && pick(3) == 0) {
    const std::size_t i = static_cast<std::size_t>(pick(static_cast<int>(p.n_items)));
    const std::size_t k = static_cast<std::size_t>(pick(static_cast<int>(p.n_dims)));
    p.weight[i * p.n_dims + k] = p.capacity[k] + 1;
    p.value[i] = 1000;
  }
  return p;
}

void expect_valid(const Problem& p, const Solution& s, const std::string& what) {
  ASSERT_EQ(s.take.size(), p.n_items) << what;
  EXPECT_TRUE(feasible(p, s.take)) << what;
  EXPECT_EQ(s.value, value_of(p, s.take)) << what;
  EXPECT_GE(s.upper_bound, s.value) << what;
  EXPECT_GE(s.gap(), 0) << what;
}

TEST(knapsack, ExactMatchesBruteForceOnRandomSmallInstances) {
  std::mt19937_64 rng(20240611);
  std::map<std::string, int> methods;
  for (int t = 0; t < 4000; ++t) {
    const Problem p = random_small(rng, t % 10 == 0 ? 14 : 10);
    const std::string what =
        fmt::format("instance {} ({} items, {} dims)\n{}", t, p.n_items, p.n_dims, to_lp(p));
    const double best = brute_force(p);
    const Solution s = solve_exact(p);
    expect_valid(p, s, what);
    EXPECT_TRUE(s.optimal) << what;
    EXPECT_TRUE(close(s.value, best, 1e-9)) << s.value << " vs brute force " << best << "\n"
                                            << what;
    EXPECT_EQ(s.upper_bound, s.value) << what;
    ++methods[s.method];

    const Solution g = solve_greedy(p);
    expect_valid(p, g, what);
    EXPECT_EQ(g.method, "greedy");
    EXPECT_LE(g.value, best * (1 + 1e-12) + 1e-12) << what;
    EXPECT_GE(g.upper_bound, best * (1 - 1e-12) - 1e-12) << what;
    if (HasFailure()) break;
  }
  // The random mix reaches every code path.
  for (const char* m : {"empty", "preprocess", "sort", "dp", "branch-and-bound"})
    EXPECT_GT(methods[m], 20) << m;
}

// Larger instances with few weight classes: the optimum over the class counts (a class keeps a
// value-ordered prefix) is enumerated directly.
TEST(knapsack, ExactMatchesClassCountEnumeration) {
  std::mt19937_64 rng(7);
  for (int t = 0; t < 30; ++t) {
    const std::size_t n_cls = 2 + rng() % 2, d = 1 + rng() % 2, per = 20 + rng() % 30;
    Problem p;
    p.n_items = n_cls * per;
    p.n_dims = d;
    std::vector<std::vector<double>> w(n_cls), vals(n_cls);
    std::lognormal_distribution<double> imp(0, 1);
    for (std::size_t c = 0; c < n_cls; ++c) {
      w[c] = {1.0};
      if (d == 2) w[c].push_back(static_cast<double>(8 + 2 * (rng() % 6)) / 36);
    }
    for (std::size_t i = 0; i < p.n_items; ++i) {
      const std::size_t c = i % n_cls;
      const double v = imp(rng);
      vals[c].push_back(v);
      p.value.push_back(v);
      for (double x : w[c]) p.weight.push_back(x);
    }
    for (std::size_t k = 0; k < d; ++k) {
      double total = 0;
      for (std::size_t i = 0; i < p.n_items; ++i) total += p.weight[i * d + k];
      p.capacity.push_back(total * (k == 0 ? 0.55 : 0.4));
    }
    // Enumerate the counts.
    std::vector<std::vector<double>> prefix(n_cls);
    for (std::size_t c = 0; c < n_cls; ++c) {
      std::sort(vals[c].rbegin(), vals[c].rend());
      prefix[c].push_back(0);
      for (double v : vals[c]) prefix[c].push_back(prefix[c].back() + v);
    }
    double best = 0;
    std::vector<std::size_t> cnt(n_cls, 0);
    for (;;) {
      bool ok = true;
      for (std::size_t k = 0; k < d && ok; ++k) {
        double used = 0;
        for (std::size_t c = 0; c < n_cls; ++c) used += static_cast<double>(cnt[c]) * w[c][k];
        ok = used <= p.capacity[k] + 1e-9;
      }
      if (ok) {
        double v = 0;
        for (std::size_t c = 0; c < n_cls; ++c) v += prefix[c][cnt[c]];
        best = std::max(best, v);
      }
      std::size_t c = 0;
      while (c < n_cls && ++cnt[c] > per) cnt[c++] = 0;
      if (c == n_cls) break;
    }
    const Solution s = solve_exact(p);
    expect_valid(p, s, fmt::format("instance {}", t));
    EXPECT_TRUE(s.optimal);
    EXPECT_TRUE(close(s.value, best, 1e-9)) << s.value << " vs " << best << " instance " << t;
  }
}

// Two dimensions with small integer weights: an independent 2-D dynamic program is the oracle.
// Large enough for several core rounds; few distinct weight vectors, so big weight classes.
TEST(knapsack, ExactMatchesTwoDimensionalDynamicProgram) {
  std::mt19937_64 rng(99);
  for (int t = 0; t < 4; ++t) {
    Problem p;
    p.n_items = 700;
    p.n_dims = 2;
    const int wmax = t < 2 ? 6 : 3;
    for (std::size_t i = 0; i < p.n_items; ++i) {
      p.value.push_back(t % 2 == 0 ? std::uniform_real_distribution<double>(1, 50)(rng)
                                   : static_cast<double>(1 + rng() % 20));
      for (int k = 0; k < 2; ++k) p.weight.push_back(static_cast<double>(1 + rng() % wmax));
    }
    p.capacity = {std::floor(0.3 * (wmax + 1) / 2 * 700), std::floor(0.45 * (wmax + 1) / 2 * 700)};
    const auto c0 = static_cast<std::size_t>(p.capacity[0]),
               c1 = static_cast<std::size_t>(p.capacity[1]);
    std::vector<double> f((c0 + 1) * (c1 + 1), 0.0);
    for (std::size_t i = 0; i < p.n_items; ++i) {
      const auto w0 = static_cast<std::size_t>(p.weight[i * 2]),
                 w1 = static_cast<std::size_t>(p.weight[i * 2 + 1]);
      for (std::size_t a = c0; a + 1 > w0; --a)
        for (std::size_t b = c1; b + 1 > w1; --b)
          f[a * (c1 + 1) + b] =
              std::max(f[a * (c1 + 1) + b], f[(a - w0) * (c1 + 1) + (b - w1)] + p.value[i]);
    }
    const double best = f.back();
    const Solution s = solve_exact(p);
    expect_valid(p, s, fmt::format("instance {}", t));
    EXPECT_TRUE(s.optimal);
    EXPECT_EQ(s.method, "branch-and-bound");
    EXPECT_TRUE(close(s.value, best, 1e-9)) << s.value << " vs " << best << " instance " << t;
  }
}

TEST(knapsack, EdgeCases) {
  // No items.
  Problem empty;
  empty.n_dims = 2;
  empty.capacity = {1, 2};
  Solution s = solve_exact(empty);
  EXPECT_TRUE(s.take.empty());
  EXPECT_EQ(s.value, 0);
  EXPECT_TRUE(s.optimal);
  EXPECT_EQ(s.method, "empty");
  // No dimensions: every item with positive value.
  Problem free;
  free.n_items = 3;
  free.value = {1, 0, 2};
  s = solve_exact(free);
  EXPECT_EQ(s.take, (std::vector<std::uint8_t>{1, 0, 1}));
  EXPECT_EQ(s.value, 3);
  EXPECT_EQ(solve_greedy(free).take, s.take);
  // Zero capacity: only weightless items.
  Problem zero;
  zero.n_items = 3;
  zero.n_dims = 1;
  zero.value = {5, 1, 2};
  zero.weight = {1, 0, 0.5};
  zero.capacity = {0};
  s = solve_exact(zero);
  EXPECT_EQ(s.take, (std::vector<std::uint8_t>{0, 1, 0}));
  // The capacity is met exactly with fractional weights (16/36 * 9 == 4 in exact arithmetic).
  Problem frac;
  frac.n_items = 10;
  frac.n_dims = 1;
  for (int i = 0; i < 10; ++i) {
    frac.value.push_back(1 + i);
    frac.weight.push_back(16.0 / 36);
  }
  frac.capacity = {4};
  s = solve_exact(frac);
  EXPECT_EQ(s.method, "sort");
  EXPECT_EQ(s.value, 54);  // items 2..10
  EXPECT_TRUE(feasible(frac, s.take));
  // Everything heavier than the capacity.
  Problem heavy = zero;
  heavy.weight = {2, 3, 4};
  heavy.capacity = {1};
  s = solve_exact(heavy);
  EXPECT_EQ(s.value, 0);
  EXPECT_EQ(s.method, "preprocess");
}

TEST(knapsack, FeasibilityRuleHasRelativeSlack) {
  Problem p;
  p.n_items = 2;
  p.n_dims = 1;
  p.value = {1, 1};
  p.weight = {500, 500 + 5e-7};
  p.capacity = {1000};
  EXPECT_TRUE(feasible(p, {1, 1}));  // over by 5e-7 <= 1e-9 * 1000
  p.weight[1] = 500 + 2e-6;
  EXPECT_FALSE(feasible(p, {1, 1}));
  EXPECT_EQ(solve_exact(p).value, 1);
  p.capacity = {0};
  p.weight = {5e-10, 6e-10};
  EXPECT_TRUE(feasible(p, {1, 0}));  // slack is absolute 1e-9 below capacity 1
  EXPECT_FALSE(feasible(p, {1, 1}));
  EXPECT_EQ(solve_exact(p).value, 1);
  EXPECT_THAT(error_of([&] { feasible(p, {1}); }), HasSubstr("1 entries for 2 items"));
}

// Strongly correlated values in 3 dimensions: hard for branch-and-bound.
Problem hard_instance(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> w(1, 1000);
  Problem p;
  p.n_items = n;
  p.n_dims = 3;
  for (std::size_t i = 0; i < n; ++i) {
    double sum = 0;
    for (int k = 0; k < 3; ++k) {
      const double x = w(rng);
      p.weight.push_back(x);
      sum += x;
    }
    p.value.push_back(sum / 3 + 100);
  }
  for (int k = 0; k < 3; ++k) {
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) total += p.weight[i * 3 + static_cast<std::size_t>(k)];
    p.capacity.push_back(std::floor(total / 2));
  }
  return p;
}

TEST(knapsack, TimeLimitReturnsFeasibleSolutionWithValidBound) {
  const Problem p = hard_instance(400, 3);
  Options opt;
  opt.time_limit_s = 0.02;
  const auto t0 = std::chrono::steady_clock::now();
  const Solution s = solve_exact(p, opt);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  expect_valid(p, s, "hard");
  EXPECT_EQ(s.method, "branch-and-bound");
  EXPECT_LT(wall, 1.0);
  EXPECT_LT(s.seconds, 1.0);
  EXPECT_GT(s.value, 0);
  if (!s.optimal) {
    EXPECT_GT(s.upper_bound, s.value);
  }
  // The bound is valid: a longer run never beats it.
  opt.time_limit_s = 0.5;
  const Solution longer = solve_exact(p, opt);
  expect_valid(p, longer, "hard, longer");
  EXPECT_LE(longer.value, s.upper_bound * (1 + 1e-12));
  EXPECT_LE(s.value, longer.upper_bound * (1 + 1e-12));
  // Zero time still yields a feasible selection.
  opt.time_limit_s = 0;
  expect_valid(p, solve_exact(p, opt), "hard, zero time");
}

TEST(knapsack, RelativeGapIsHonoured) {
  // Small enough to prove optimal at the default gap; a loose gap stops earlier but within it.
  const Problem p = hard_instance(40, 5);
  const Solution tight = solve_exact(p);
  ASSERT_TRUE(tight.optimal);
  for (double gap : {1e-2, 1e-4}) {
    Options opt;
    opt.rel_gap = gap;
    const Solution s = solve_exact(p, opt);
    expect_valid(p, s, "rel_gap");
    EXPECT_TRUE(s.optimal);
    EXPECT_GE(s.value, tight.value * (1 - gap)) << gap;
    EXPECT_LE(s.nodes, tight.nodes) << gap;
  }
}

TEST(knapsack, GreedyIsFastAndBoundsTheOptimum) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(1, 100);
  Problem p;
  p.n_items = 20000;
  p.n_dims = 2;
  for (std::size_t i = 0; i < p.n_items; ++i) {
    p.value.push_back(u(rng));
    p.weight.push_back(u(rng));
    p.weight.push_back(u(rng));
  }
  p.capacity = {0.3 * 50.5 * 20000, 0.6 * 50.5 * 20000};
  const Solution g = solve_greedy(p);
  const Solution e = solve_exact(p);
  expect_valid(p, g, "greedy");
  expect_valid(p, e, "exact");
  EXPECT_TRUE(e.optimal);
  EXPECT_LE(g.value, e.value);
  EXPECT_GE(g.upper_bound, e.value);
  EXPECT_LT(g.gap(), 0.01);  // within 1% on a large uncorrelated instance
}

TEST(knapsack, ValidateNamesTheCulprit) {
  Problem p;
  p.n_items = 2;
  p.n_dims = 2;
  p.value = {1, 2};
  p.weight = {1, 2, 3, 4};
  p.capacity = {5, 5};
  EXPECT_NO_THROW(validate(p));
  Problem q = p;
  q.value[1] = std::nan("");
  EXPECT_THAT(error_of([&] { validate(q); }), HasSubstr("value of item 1 is nan"));
  q = p;
  q.weight[3] = -1;
  EXPECT_THAT(error_of([&] { solve_exact(q); }),
              HasSubstr("weight of item 1 in dimension 1 is -1"));
  q = p;
  q.weight[0] = std::numeric_limits<double>::infinity();
  EXPECT_THAT(error_of([&] { solve_greedy(q); }),
              HasSubstr("weight of item 0 in dimension 0 is inf"));
  q = p;
  q.capacity[1] = -0.5;
  EXPECT_THAT(error_of([&] { validate(q); }), HasSubstr("capacity of dimension 1 is -0.5"));
  q = p;
  q.weight.pop_back();
  EXPECT_THAT(error_of([&] { validate(q); }),
              HasSubstr("weight has 3 entries, expected 4 (2 items x 2 dimensions)"));
  q = p;
  q.value.push_back(1);
  EXPECT_THAT(error_of([&] { validate(q); }), HasSubstr("value has 3 entries for 2 items"));
  q = p;
  q.capacity.pop_back();
  EXPECT_THAT(error_of([&] { to_lp(q); }), HasSubstr("capacity has 1 entries for 2 dimensions"));
}

// Reads back the LP text: the numbers are exact and every term is where it belongs.
TEST(knapsack, LpTextRoundTripsExactly) {
  std::mt19937_64 rng(3);
  Problem p = random_small(rng, 14);
  while (p.n_items < 10 || p.n_dims < 2) p = random_small(rng, 14);
  p.value[0] = 0.1;
  p.value[1] = 1.0 / 3;
  p.weight[1] = 16.0 / 36;
  const std::string lp = to_lp(p);
  EXPECT_THAT(lp, HasSubstr("Maximize\n obj:"));
  EXPECT_THAT(lp, HasSubstr("\nSubject To\n"));
  EXPECT_THAT(lp, HasSubstr("\nBinary\n"));
  EXPECT_TRUE(lp.ends_with("\nEnd\n"));
  // Parse: sections, then "coef xI" terms and "<= cap".
  Problem back;
  back.n_items = p.n_items;
  back.n_dims = p.n_dims;
  back.value.assign(p.n_items, 0);
  back.weight.assign(p.n_items * p.n_dims, 0);
  std::istringstream in(lp);
  std::string tok, section;
  long row = -1;
  double coef = 0;
  std::size_t binaries = 0;
  while (in >> tok) {
    if (tok == "\\") {
      std::getline(in, tok);
    } else if (tok == "Maximize" || tok == "Binary" || tok == "End") {
      section = tok;
    } else if (tok == "Subject") {
      in >> tok;
      section = "Subject";
    } else if (section == "Binary") {
      ++binaries;
    } else if (tok == "obj:") {
      row = -1;
    } else if (tok.front() == 'c' && tok.back() == ':') {
      row = std::stol(tok.substr(1));
    } else if (tok == "+") {
    } else if (tok == "<=") {
      in >> tok;
      back.capacity.push_back(std::stod(tok));
    } else if (tok.front() == 'x') {
      const std::size_t i = std::stoul(tok.substr(1));
      if (row < 0) {
        back.value[i] = coef;
      } else {
        back.weight[i * p.n_dims + static_cast<std::size_t>(row)] = coef;
      }
    } else {
      coef = std::stod(tok);
    }
  }
  EXPECT_EQ(binaries, p.n_items);
  EXPECT_EQ(back.value, p.value);
  EXPECT_EQ(back.weight, p.weight);
  EXPECT_EQ(back.capacity, p.capacity);
}

}  // namespace
}  // namespace hwprune::knapsack
