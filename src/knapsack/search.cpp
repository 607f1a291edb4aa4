// Depth-first branch-and-bound over the core items of a knapsack, with Lagrangian penalties,
// a surrogate Dantzig bound and class (identical weight vector) dominance.
#include <algorithm>
#include <cmath>

#include "detail.hpp"

namespace hwprune::knapsack::detail {

SearchResult core_search(const SearchInput& in, Incumbent& inc) {
  const Reduced& red = *in.red;
  const std::size_t n = red.n, d = red.d;
  const std::vector<double>& r = *in.r;
  const std::vector<std::uint8_t>& in_core = *in.in_core;
  const std::vector<std::uint8_t>& fixed = *in.fixed;
  const std::vector<std::uint32_t>& cls = *in.cls;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  SearchResult res;

  // Start: the fixed items, with their Lagrangian penalties.
  double value0 = 0, pen0 = 0;
  std::vector<double> used0(d, 0.0);
  for (std::size_t j = 0; j < n; ++j) {
    if (in_core[j]) continue;
    if (fixed[j]) {
      value0 += red.v[j];
      for (std::size_t k = 0; k < d; ++k) used0[k] += red.w[j * d + k];
      if (r[j] < 0) pen0 -= r[j];
    } else if (r[j] > 0) {
      pen0 += r[j];
    }
  }
  for (std::size_t k = 0; k < d; ++k) {
    if (used0[k] > red.cap[k]) {  // the restriction has no feasible point
      res.complete = true;
      return res;
    }
  }

  // Core items in efficiency order, laid out contiguously.
  std::vector<std::size_t> core;
  for (std::size_t j : *in.order)
    if (in_core[j]) core.push_back(j);
  const std::size_t m = core.size();
  std::vector<double> cv(m), cr(m), cs(m), cw(m * d), csuf(m);
  std::vector<std::uint32_t> ccls(m);
  for (std::size_t p = 0; p < m; ++p) {
    const std::size_t j = core[p];
    cv[p] = red.v[j];
    cr[p] = r[j];
    cs[p] = (*in.s)[j];
    ccls[p] = cls[j];
    for (std::size_t k = 0; k < d; ++k) cw[p * d + k] = red.w[j * d + k];
  }
  // A class is open while all of its items so far are taken. Excluding an item closes it: some
  // optimum takes a value-ordered prefix of every class, so the rest of the class is excluded
  // too and its positive reduced costs are lost at once (csuf).
  std::vector<std::uint8_t> open(in.n_classes, 1), seen_zero(in.n_classes, 0),
      seen_core(in.n_classes, 0);
  for (std::size_t j : *in.order) {
    const std::uint32_t c = cls[j];
    if (in_core[j]) {
      if (!seen_core[c] && seen_zero[c]) open[c] = 0;
      seen_core[c] = 1;
    } else if (!fixed[j]) {
      seen_zero[c] = 1;
    }
  }
  {
    std::vector<double> acc(in.n_classes, 0.0);
    for (std::size_t p = m; p-- > 0;) {
      acc[ccls[p]] += std::max(0.0, cr[p]);
      csuf[p] = acc[ccls[p]];
    }
    for (std::size_t p = 0; p < m; ++p)
      if (!open[ccls[p]]) pen0 += std::max(0.0, cr[p]);
  }
  // Surrogate capacity of a residual: sum_k mu_k * res_k / cap_k.
  std::vector<double> coef(d);
  for (std::size_t k = 0; k < d; ++k) coef[k] = (*in.mu)[k] / red.cap[k];

  std::vector<double> used((m + 1) * d), value(m + 1), pen(m + 1), bound(m + 1);
  std::vector<std::uint8_t> state(m, 0), closed_here(m, 0), x(m, 0), best_x;
  std::copy(used0.begin(), used0.end(), used.begin());
  value[0] = value0;
  pen[0] = pen0;
  double best = inc.value;
  double eps = prune_eps(in.rel_gap, best);
  bool improved = false;
  double max_pruned = -kInf;
  std::vector<double> resid(d);

  std::size_t p = 0;
  bool aborted = false;
  for (;;) {
    // ---- evaluate the node at depth p ----
    ++res.nodes;
    if (res.nodes >= in.node_limit || ((res.nodes & 63) == 0 && Clock::now() >= in.deadline)) {
      aborted = true;
      break;
    }
    const double val = value[p];
    if (val > best + eps) {  // the node's partial selection (rest excluded) is feasible
      best = val;
      eps = prune_eps(in.rel_gap, best);
      best_x.assign(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(p));
      best_x.resize(m, 0);
      improved = true;
    }
    double bnd = val;
    if (p < m) {
      bnd = in.lagrangian - pen[p];
      if (bnd > best + eps) {
        const double* us = &used[p * d];
        double cap_s = 0;
        for (std::size_t k = 0; k < d; ++k) {
          resid[k] = red.cap[k] - us[k];
          cap_s += coef[k] * resid[k];
        }
        double gain = 0;
        for (std::size_t q = p; q < m; ++q) {
          if (!open[ccls[q]]) continue;
          bool fits = true;
          for (std::size_t k = 0; k < d && fits; ++k) fits = cw[q * d + k] <= resid[k];
          if (!fits) continue;
          if (cs[q] <= cap_s) {
            cap_s -= cs[q];
            gain += cv[q];
          } else {
            gain += cv[q] * (cap_s / cs[q]);
            break;
          }
        }
        bnd = std::min(bnd, val + gain);
      }
    }
    bool backtrack = p == m || bnd <= best + eps;
    if (backtrack) {
      max_pruned = std::max(max_pruned, bnd);
    } else {
      bound[p] = bnd;
      const std::uint32_t c = ccls[p];
      bool take = open[c] != 0;
      const double* us = &used[p * d];
      for (std::size_t k = 0; k < d && take; ++k) take = us[k] + cw[p * d + k] <= red.cap[k];
      double* un = &used[(p + 1) * d];
      if (take) {
        x[p] = 1;
        state[p] = 1;
        closed_here[p] = 0;
        value[p + 1] = val + cv[p];
        for (std::size_t k = 0; k < d; ++k) un[k] = us[k] + cw[p * d + k];
        pen[p + 1] = pen[p] + std::max(0.0, -cr[p]);
      } else {  // excluded: closes the class (later items of it cannot fit either)
        x[p] = 0;
        state[p] = 2;
        closed_here[p] = open[c];
        pen[p + 1] = pen[p] + (open[c] ? csuf[p] : 0.0);
        open[c] = 0;
        value[p + 1] = val;
        std::copy(us, us + d, un);
      }
      ++p;
      continue;
    }
    // ---- backtrack to the deepest node with an unexplored branch ----
    bool done = true;
    while (p > 0) {
      --p;
      if (state[p] == 1) {
        const std::uint32_t c = ccls[p];
        x[p] = 0;
        state[p] = 2;
        closed_here[p] = 1;
        open[c] = 0;
        pen[p + 1] = pen[p] + csuf[p];
        value[p + 1] = value[p];
        std::copy(&used[p * d], &used[p * d] + d, &used[(p + 1) * d]);
        ++p;
        done = false;
        break;
      }
      if (closed_here[p]) open[ccls[p]] = 1;
    }
    if (done) break;
  }

  res.complete = !aborted;
  res.open_bound = max_pruned;
  if (aborted) {
    // Unexplored: the current node's subtree and every pending exclude branch.
    res.open_bound = std::max(res.open_bound, p > 0 ? bound[p - 1] : in.lagrangian - pen0);
    for (std::size_t q = 0; q < p; ++q)
      if (state[q] == 1) res.open_bound = std::max(res.open_bound, bound[q]);
  }
  if (improved) {
    inc.value = best;
    inc.x.assign(n, 0);
    for (std::size_t j = 0; j < n; ++j)
      if (!in_core[j]) inc.x[j] = fixed[j];
    for (std::size_t q = 0; q < m; ++q) inc.x[core[q]] = best_x[q];
  }
  return res;
}

}  // namespace hwprune::knapsack::detail
