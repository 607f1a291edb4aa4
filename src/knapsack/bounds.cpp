// Knapsack bounds: the continuous 1-D (Dantzig) bound by weighted selection and the search for
// good Lagrangian/surrogate multipliers.
#include <algorithm>
#include <cmath>
#include <limits>

#include "detail.hpp"

namespace hwprune::knapsack::detail {

DantzigResult dantzig(std::vector<DantzigItem>& items, double cap) {
  DantzigResult res;
  double sum = 0;
  // Weightless items always fit.
  auto first =
      std::partition(items.begin(), items.end(), [](const DantzigItem& it) { return it.s == 0; });
  for (auto it = items.begin(); it != first; ++it) sum += it->a;
  std::size_t lo = static_cast<std::size_t>(first - items.begin()), hi = items.size();
  while (lo < hi) {
    const double r0 = items[lo].ratio, r1 = items[lo + (hi - lo) / 2].ratio,
                 r2 = items[hi - 1].ratio;
    const double pivot = std::max(std::min(r0, r1), std::min(std::max(r0, r1), r2));
    auto b = items.begin();
    auto m1 =
        std::partition(b + static_cast<std::ptrdiff_t>(lo), b + static_cast<std::ptrdiff_t>(hi),
                       [pivot](const DantzigItem& it) { return it.ratio > pivot; });
    auto m2 = std::partition(m1, b + static_cast<std::ptrdiff_t>(hi),
                             [pivot](const DantzigItem& it) { return it.ratio == pivot; });
    double s_hi = 0, a_hi = 0;
    for (auto it = b + static_cast<std::ptrdiff_t>(lo); it != m1; ++it) {
      s_hi += it->s;
      a_hi += it->a;
    }
    if (s_hi > cap) {  // the break item is more efficient than the pivot
      hi = static_cast<std::size_t>(m1 - b);
      continue;
    }
    sum += a_hi;
    cap -= s_hi;
    double s_eq = 0, a_eq = 0;
    for (auto it = m1; it != m2; ++it) {
      s_eq += it->s;
      a_eq += it->a;
    }
    if (s_eq >= cap) {  // the break item has the pivot's efficiency
      res.bound = sum + cap * pivot;
      res.ratio = pivot;
      return res;
    }
    sum += a_eq;
    cap -= s_eq;
    lo = static_cast<std::size_t>(m2 - b);
  }
  res.bound = sum;  // everything fits
  res.ratio = 0;
  return res;
}

double lagrangian_bound(const Reduced& red, const std::vector<double>& lambda) {
  double total = 0;
  for (double l : lambda) total += l;
  for (std::size_t j = 0; j < red.n; ++j) {
    double r = red.v[j];
    for (std::size_t k = 0; k < red.d; ++k) r -= lambda[k] * red.u[j * red.d + k];
    if (r > 0) total += r;
  }
  return total;
}

namespace {

// Surrogate relaxation with multipliers mu: one constraint sum_j (mu . u_j) x_j <= sum(mu).
DantzigResult surrogate(const Reduced& red, const std::vector<double>& mu,
                        std::vector<DantzigItem>& scratch) {
  scratch.resize(red.n);
  double cap = 0;
  for (double m : mu) cap += m;
  for (std::size_t j = 0; j < red.n; ++j) {
    double s = 0;
    for (std::size_t k = 0; k < red.d; ++k) s += mu[k] * red.u[j * red.d + k];
    scratch[j] = {s > 0 ? red.v[j] / s : 0.0, red.v[j], s};
  }
  return dantzig(scratch, cap);
}

// Exact minimisation of L over lambda_k with the other multipliers fixed; returns L.
double coordinate_step(const Reduced& red, std::vector<double>& lambda, std::size_t k,
                       std::vector<DantzigItem>& scratch) {
  scratch.clear();
  double base = 0;
  for (std::size_t i = 0; i < red.d; ++i)
    if (i != k) base += lambda[i];
  for (std::size_t j = 0; j < red.n; ++j) {
    double a = red.v[j];
    for (std::size_t i = 0; i < red.d; ++i)
      if (i != k) a -= lambda[i] * red.u[j * red.d + i];
    if (a <= 0) continue;
    const double s = red.u[j * red.d + k];
    scratch.push_back({s > 0 ? a / s : 0.0, a, s});
  }
  const DantzigResult res = dantzig(scratch, 1.0);
  lambda[k] = res.ratio;
  return base + res.bound;
}

}  // namespace

Multipliers multipliers(const Reduced& red, int effort) {
  Multipliers best;
  best.lambda.assign(red.d, 0.0);
  best.bound = lagrangian_bound(red, best.lambda);
  if (red.n == 0 || red.d == 0) return best;
  std::vector<DantzigItem> scratch;
  auto consider = [&](const std::vector<double>& lambda) {
    const double b = lagrangian_bound(red, lambda);
    if (b < best.bound) {
      best.bound = b;
      best.lambda = lambda;
    }
  };
  auto from_mu = [&](const std::vector<double>& mu) {
    const DantzigResult res = surrogate(red, mu, scratch);
    std::vector<double> lambda(red.d);
    for (std::size_t k = 0; k < red.d; ++k) lambda[k] = res.ratio * mu[k];
    return std::pair(res.bound, lambda);
  };
  double a = 0, b = 1;  // golden-section bracket for d = 2
  int iters = effort > 0 ? 45 : 14, cycles = effort > 0 ? (red.d == 2 ? 20 : 100) : 10;
  std::vector<double> start(red.d, 1.0 / static_cast<double>(red.d));
  if (effort == 0 && red.n > 200000) {
    // Cheap on huge instances: find mu on a strided sample (weights scaled to keep capacity 1),
    // then refine in a narrow bracket on all items.
    const std::size_t stride = red.n / 100000;
    Reduced sample;
    sample.d = red.d;
    const double scale = static_cast<double>(stride);
    for (std::size_t j = 0; j < red.n; j += stride) {
      sample.v.push_back(red.v[j]);
      for (std::size_t k = 0; k < red.d; ++k) sample.u.push_back(red.u[j * red.d + k] * scale);
    }
    sample.n = sample.v.size();
    start = surrogate_mu(sample, multipliers(sample, 0).lambda);
    a = std::max(0.0, start[0] - 0.01);
    b = std::min(1.0, start[0] + 0.01);
    iters = 5;
    cycles = 1;
  }
  if (red.d == 2) {
    // The surrogate bound is quasiconvex in mu = (t, 1 - t): golden-section search on t.
    const double g = (std::sqrt(5.0) - 1) / 2;
    double x1 = b - g * (b - a), x2 = a + g * (b - a);
    // The surrogate bound at mu equals L(ratio * mu): track the best without recomputing L.
    double best_sur = std::numeric_limits<double>::infinity();
    std::vector<double> best_sur_lambda;
    auto f = [&](double t) {
      auto [bound, lambda] = from_mu({t, 1 - t});
      if (bound < best_sur) {
        best_sur = bound;
        best_sur_lambda = lambda;
      }
      return bound;
    };
    f(a);
    f(b);
    double f1 = f(x1), f2 = f(x2);
    for (int it = 0; it < iters; ++it) {
      if (f1 <= f2) {
        b = x2;
        x2 = x1;
        f2 = f1;
        x1 = b - g * (b - a);
        f1 = f(x1);
      } else {
        a = x1;
        x1 = x2;
        f1 = f2;
        x2 = a + g * (b - a);
        f2 = f(x2);
      }
    }
    consider(best_sur_lambda);
  } else {
    consider(from_mu(start).second);
  }
  // Cyclic coordinate descent on L polishes the multipliers (and is the search for d >= 3).
  if (red.d == 1 || (red.d == 2 && effort == 0)) cycles = 0;
  std::vector<double> lambda = best.lambda;
  double prev = best.bound;
  for (int c = 0; c < cycles; ++c) {
    for (std::size_t k = 0; k < red.d; ++k) coordinate_step(red, lambda, k, scratch);
    consider(lambda);
    if (!(best.bound < prev - 1e-13 * std::abs(prev))) break;
    prev = best.bound;
  }
  return best;
}

}  // namespace hwprune::knapsack::detail
