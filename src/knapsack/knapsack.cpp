// The knapsack entry points: validation, feasibility, LP export and the solver drivers.
#include "hwprune/knapsack/knapsack.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "detail.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::knapsack {

using detail::Clock;
using detail::seconds_since;

void validate(const Problem& p) {
  if (p.value.size() != p.n_items)
    throw Error(
        fmt::format("knapsack: value has {} entries for {} items", p.value.size(), p.n_items));
  if (p.n_dims != 0 && p.n_items > std::numeric_limits<std::size_t>::max() / p.n_dims)
    throw Error(
        fmt::format("knapsack: {} items x {} dimensions is too large", p.n_items, p.n_dims));
  if (p.weight.size() != p.n_items * p.n_dims)
    throw Error(
        fmt::format("knapsack: weight has {} entries, expected {} ({} items x {} dimensions)",
                    p.weight.size(), p.n_items * p.n_dims, p.n_items, p.n_dims));
  if (p.capacity.size() != p.n_dims)
    throw Error(fmt::format("knapsack: capacity has {} entries for {} dimensions",
                            p.capacity.size(), p.n_dims));
  auto bad = [](double x) { return !std::isfinite(x) || x < 0; };
  for (std::size_t i = 0; i < p.n_items; ++i)
    if (bad(p.value[i]))
      throw Error(
          fmt::format("knapsack: value of item {} is {} (must be finite and >= 0)", i, p.value[i]));
  for (std::size_t i = 0; i < p.n_items; ++i)
    for (std::size_t k = 0; k < p.n_dims; ++k)
      if (bad(p.weight[i * p.n_dims + k]))
        throw Error(fmt::format(
            "knapsack: weight of item {} in dimension {} is {} (must be finite and >= 0)", i, k,
            p.weight[i * p.n_dims + k]));
  for (std::size_t k = 0; k < p.n_dims; ++k)
    if (bad(p.capacity[k]))
      throw Error(fmt::format("knapsack: capacity of dimension {} is {} (must be finite and >= 0)",
                              k, p.capacity[k]));
}

double effective_capacity(double capacity) {
  return capacity + kFeasTol * std::max(1.0, capacity);
}

namespace {
void check_take(const Problem& p, const std::vector<std::uint8_t>& take) {
  if (take.size() != p.n_items)
    throw Error(
        fmt::format("knapsack: selection has {} entries for {} items", take.size(), p.n_items));
}
}  // namespace

bool feasible(const Problem& p, const std::vector<std::uint8_t>& take) {
  check_take(p, take);
  for (std::size_t k = 0; k < p.n_dims; ++k) {
    double sum = 0;
    for (std::size_t i = 0; i < p.n_items; ++i)
      if (take[i]) sum += p.weight[i * p.n_dims + k];
    if (!(sum <= effective_capacity(p.capacity[k]))) return false;
  }
  return true;
}

double value_of(const Problem& p, const std::vector<std::uint8_t>& take) {
  check_take(p, take);
  double sum = 0;
  for (std::size_t i = 0; i < p.n_items; ++i)
    if (take[i]) sum += p.value[i];
  return sum;
}

double Solution::gap() const {
  return (upper_bound - value) / std::max(1.0, std::abs(upper_bound));
}

void detail::append_lp_terms(std::string& out, std::size_t n,
                             const std::function<double(std::size_t)>& coef, bool skip_zero) {
  std::size_t written = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double c = coef(i);
    if (skip_zero && c == 0 && !(written == 0 && i + 1 == n)) continue;
    out += fmt::format("{}{}{:.17g} x{}", written > 0 && written % 8 == 0 ? "\n" : "",
                       written == 0 ? " "
                       : c < 0      ? " - "
                                    : " + ",
                       written == 0 || !(c < 0) ? c : -c, i);
    ++written;
  }
}

std::string to_lp(const Problem& p) {
  validate(p);
  std::string out = fmt::format(
      "\\ hwprune knapsack: {} items, {} dimensions\nMaximize\n obj:", p.n_items, p.n_dims);
  // Every variable appears in the objective (with coefficient 0 if need be) so cbc knows it.
  detail::append_lp_terms(
      out, p.n_items, [&](std::size_t i) { return p.value[i]; }, false);
  out += "\nSubject To\n";
  if (p.n_items > 0) {
    for (std::size_t k = 0; k < p.n_dims; ++k) {
      out += fmt::format(" c{}:", k);
      detail::append_lp_terms(
          out, p.n_items, [&](std::size_t i) { return p.weight[i * p.n_dims + k]; }, true);
      out += fmt::format(" <= {:.17g}\n", p.capacity[k]);
    }
  }
  out += "Binary\n";
  for (std::size_t i = 0; i < p.n_items; ++i) out += fmt::format(" x{}\n", i);
  out += "End\n";
  return out;
}

namespace {

// Turns a reduced selection into the Solution; repairs (never seen in practice) a selection that
// rounding pushed over the feasibility rule by dropping its least valuable reduced items.
Solution finish(const Problem& p, const detail::Preprocessed& pre, std::vector<std::uint8_t> x,
                double ub_reduced, bool optimal, const char* method, double rel_gap,
                Clock::time_point t0) {
  Solution sol;
  sol.method = method;
  sol.take = detail::expand(pre, x);
  if (!feasible(p, sol.take)) {
    std::vector<std::size_t> taken;
    for (std::size_t j = 0; j < pre.red.n; ++j)
      if (x[j]) taken.push_back(j);
    std::sort(taken.begin(), taken.end(),
              [&](std::size_t a, std::size_t b) { return pre.red.v[a] < pre.red.v[b]; });
    for (std::size_t j : taken) {
      sol.take[pre.red.item[j]] = 0;
      optimal = false;
      if (feasible(p, sol.take)) break;
    }
  }
  sol.value = value_of(p, sol.take);
  sol.upper_bound = std::max(sol.value, pre.fixed_value + ub_reduced);
  if (optimal || sol.gap() <= rel_gap) {
    sol.optimal = true;
    sol.upper_bound = sol.value;
  }
  sol.seconds = seconds_since(t0);
  return sol;
}

double reduced_value(const detail::Reduced& red, const std::vector<std::uint8_t>& x) {
  double sum = 0;
  for (std::size_t j = 0; j < red.n; ++j)
    if (x[j]) sum += red.v[j];
  return sum;
}

// One weight class: the best k items by value, k as large as fits.
std::vector<std::uint8_t> solve_one_class(const detail::Reduced& red) {
  std::vector<std::size_t> idx(red.n);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
    return red.v[a] != red.v[b] ? red.v[a] > red.v[b] : a < b;
  });
  return detail::greedy_fill(red, idx);
}

// One dimension, integer weights: dynamic programming over the capacity.
bool dp_applicable(const detail::Reduced& red, std::size_t* cap_cells) {
  if (red.d != 1) return false;
  const double cap = std::floor(red.cap[0]);
  if (static_cast<double>(red.n) * (cap + 1) > 5e7) return false;
  for (double w : red.w)
    if (w != std::floor(w)) return false;
  *cap_cells = static_cast<std::size_t>(cap) + 1;
  return true;
}

std::vector<std::uint8_t> solve_dp(const detail::Reduced& red, std::size_t cells) {
  const std::size_t words = (cells + 63) / 64;
  std::vector<double> f(cells, 0.0);
  std::vector<std::uint64_t> keep(red.n * words, 0);
  for (std::size_t j = 0; j < red.n; ++j) {
    const auto w = static_cast<std::size_t>(red.w[j]);  // fits alone, so w < cells
    std::uint64_t* row = &keep[j * words];
    for (std::size_t c = cells; c-- > w;) {
      const double cand = f[c - w] + red.v[j];
      if (cand > f[c]) {
        f[c] = cand;
        row[c / 64] |= std::uint64_t{1} << (c % 64);
      }
    }
  }
  std::vector<std::uint8_t> x(red.n, 0);
  std::size_t c = cells - 1;
  for (std::size_t j = red.n; j-- > 0;) {
    if (keep[j * words + c / 64] >> (c % 64) & 1) {
      x[j] = 1;
      c -= static_cast<std::size_t>(red.w[j]);
    }
  }
  return x;
}

Clock::time_point deadline_after(Clock::time_point t0, double seconds) {
  const double s = std::clamp(std::isnan(seconds) ? 0.0 : seconds, 0.0, 1e7);
  return t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace

Solution solve_exact(const Problem& p, const Options& opt) {
  const Clock::time_point t0 = Clock::now();
  const Clock::time_point deadline = deadline_after(t0, opt.time_limit_s);
  const double rel_gap = std::max(0.0, opt.rel_gap);
  validate(p);
  const detail::Preprocessed pre = detail::preprocess(p);
  const detail::Reduced& red = pre.red;
  if (red.n == 0)
    return finish(p, pre, {}, 0.0, true, p.n_items == 0 ? "empty" : "preprocess", rel_gap, t0);

  std::uint32_t n_classes = 0;
  const std::vector<std::uint32_t> cls = detail::weight_classes(red, &n_classes);
  if (n_classes == 1) return finish(p, pre, solve_one_class(red), 0.0, true, "sort", rel_gap, t0);
  std::size_t cells = 0;
  if (dp_applicable(red, &cells))
    return finish(p, pre, solve_dp(red, cells), 0.0, true, "dp", rel_gap, t0);

  // Branch-and-bound: multipliers, greedy incumbent, then core searches of growing size.
  const detail::Multipliers mult = detail::multipliers(red, 1);
  const double lagr = mult.bound;
  const std::vector<double> mu = detail::surrogate_mu(red, mult.lambda);
  const std::vector<double> s = detail::surrogate_weights(red, mu);
  const std::vector<std::size_t> order = detail::efficiency_order(red, s);
  detail::Incumbent inc;
  inc.x = detail::greedy_fill(red, order);
  inc.value = reduced_value(red, inc.x);

  std::vector<double> r(red.n), absr(red.n);
  for (std::size_t j = 0; j < red.n; ++j) {
    double rj = red.v[j];
    for (std::size_t k = 0; k < red.d; ++k) rj -= mult.lambda[k] * red.u[j * red.d + k];
    r[j] = rj;
    absr[j] = std::abs(rj);
  }
  std::vector<double> sorted_abs = absr;
  std::sort(sorted_abs.begin(), sorted_abs.end());
  std::vector<std::uint8_t> in_core(red.n), fixed(red.n);
  for (std::size_t j = 0; j < red.n; ++j) fixed[j] = r[j] > 0;

  detail::SearchInput in;
  in.red = &red;
  in.cls = &cls;
  in.n_classes = n_classes;
  in.r = &r;
  in.lagrangian = lagr;
  in.order = &order;
  in.s = &s;
  in.mu = &mu;
  in.in_core = &in_core;
  in.fixed = &fixed;
  in.deadline = deadline;
  in.rel_gap = rel_gap;

  double ub = lagr;
  bool optimal = false;
  std::uint64_t nodes = 0;
  std::size_t k_core = std::min<std::size_t>(red.n, 256);
  for (;;) {
    if (lagr - inc.value <= rel_gap * std::max(1.0, std::abs(lagr))) {
      optimal = true;
      break;
    }
    if (Clock::now() >= deadline) break;
    // Any solution better than inc.value + eps agrees with the sign of r on all items with
    // |r| >= threshold (reduced-cost fixing); the final core holds all the others.
    const double eps = detail::prune_eps(rel_gap, inc.value);
    const double threshold = lagr - inc.value - eps;
    const auto m_star = static_cast<std::size_t>(
        std::lower_bound(sorted_abs.begin(), sorted_abs.end(), threshold) - sorted_abs.begin());
    const bool final_round = m_star <= k_core || k_core >= red.n;
    double min_out = std::numeric_limits<double>::infinity();
    if (final_round) {
      for (std::size_t j = 0; j < red.n; ++j) in_core[j] = absr[j] < threshold;
      in.node_limit = std::numeric_limits<std::uint64_t>::max();
    } else {
      const double t_h = sorted_abs[k_core - 1];
      for (std::size_t j = 0; j < red.n; ++j) in_core[j] = absr[j] <= t_h;
      in.node_limit = 200000;
    }
    for (std::size_t j = 0; j < red.n; ++j)
      if (!in_core[j]) min_out = std::min(min_out, absr[j]);
    const detail::SearchResult res = detail::core_search(in, inc);
    nodes += res.nodes;
    const double outside = lagr - min_out;  // bound on solutions leaving the core's fixings
    const double eps_now = detail::prune_eps(rel_gap, inc.value);
    if (res.complete && (final_round || outside <= inc.value + eps_now)) {
      optimal = true;
      break;
    }
    if (final_round || Clock::now() >= deadline) {
      ub = std::min(lagr, std::max({inc.value, res.open_bound, outside}));
      break;
    }
    k_core = std::min(red.n, k_core * 4);
  }
  Solution sol = finish(p, pre, inc.x, ub, optimal, "branch-and-bound", rel_gap, t0);
  sol.nodes = nodes;
  return sol;
}

Solution solve_greedy(const Problem& p) {
  const Clock::time_point t0 = Clock::now();
  validate(p);
  const detail::Preprocessed pre = detail::preprocess(p);
  const detail::Reduced& red = pre.red;
  if (red.n == 0) return finish(p, pre, {}, 0.0, true, "greedy", 0.0, t0);
  const detail::Multipliers mult = detail::multipliers(red, 0);
  const std::vector<double> s =
      detail::surrogate_weights(red, detail::surrogate_mu(red, mult.lambda));
  std::vector<std::uint8_t> x = detail::greedy_fill(red, detail::efficiency_order(red, s));
  double total = 0;
  for (double v : red.v) total += v;
  return finish(p, pre, std::move(x), std::min(total, mult.bound), false, "greedy", 0.0, t0);
}

}  // namespace hwprune::knapsack
