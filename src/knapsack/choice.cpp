// The multiple-choice knapsack (choice.hpp): validation, LP export, the Lagrangian bound, the
// greedy and the branch-and-bound.
#include "hwprune/knapsack/choice.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include <fmt/format.h>

#include "detail.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::knapsack {

void validate(const ChoiceProblem& p) {
  const std::size_t n = p.value.size(), d = p.n_dims;
  if (p.offsets.empty() || p.offsets.front() != 0)
    throw Error("multiple-choice knapsack: offsets must start with 0");
  for (std::size_t g = 0; g + 1 < p.offsets.size(); ++g)
    if (p.offsets[g + 1] <= p.offsets[g])
      throw Error(fmt::format("multiple-choice knapsack: group {} has no option", g));
  if (p.offsets.back() != n)
    throw Error(fmt::format("multiple-choice knapsack: offsets end at {}, but there are {} options",
                            p.offsets.back(), n));
  if (d != 0 && n > std::numeric_limits<std::size_t>::max() / d)
    throw Error(
        fmt::format("multiple-choice knapsack: {} options x {} dimensions is too large", n, d));
  if (p.weight.size() != n * d)
    throw Error(
        fmt::format("multiple-choice knapsack: weight has {} entries, expected {} ({} options x {} "
                    "dimensions)",
                    p.weight.size(), n * d, n, d));
  if (p.capacity.size() != d)
    throw Error(fmt::format("multiple-choice knapsack: capacity has {} entries for {} dimensions",
                            p.capacity.size(), d));
  for (std::size_t o = 0; o < n; ++o)
    if (!std::isfinite(p.value[o]))
      throw Error(fmt::format("multiple-choice knapsack: value of option {} is {} (must be finite)",
                              o, p.value[o]));
  for (std::size_t o = 0; o < n; ++o)
    for (std::size_t k = 0; k < d; ++k) {
      const double w = p.weight[o * d + k];
      if (!std::isfinite(w) || w < 0)
        throw Error(fmt::format(
            "multiple-choice knapsack: weight of option {} in dimension {} is {} (must be finite "
            "and >= 0)",
            o, k, w));
    }
  for (std::size_t k = 0; k < d; ++k)
    if (!std::isfinite(p.capacity[k]) || p.capacity[k] < 0)
      throw Error(fmt::format(
          "multiple-choice knapsack: capacity of dimension {} is {} (must be finite and >= 0)", k,
          p.capacity[k]));
}

namespace {

void check_choice(const ChoiceProblem& p, const std::vector<std::size_t>& choice) {
  if (choice.size() != p.n_groups())
    throw Error(fmt::format("multiple-choice knapsack: choice has {} entries for {} groups",
                            choice.size(), p.n_groups()));
  for (std::size_t g = 0; g < choice.size(); ++g)
    if (choice[g] < p.offsets[g] || choice[g] >= p.offsets[g + 1])
      throw Error(
          fmt::format("multiple-choice knapsack: option {} is not one of group {}", choice[g], g));
}

}  // namespace

bool feasible(const ChoiceProblem& p, const std::vector<std::size_t>& choice) {
  check_choice(p, choice);
  for (std::size_t k = 0; k < p.n_dims; ++k) {
    double load = 0;
    for (std::size_t o : choice) load += p.weight[o * p.n_dims + k];
    if (!(load <= effective_capacity(p.capacity[k]))) return false;
  }
  return true;
}

double value_of(const ChoiceProblem& p, const std::vector<std::size_t>& choice) {
  check_choice(p, choice);
  double v = 0;
  for (std::size_t o : choice) v += p.value[o];
  return v;
}

double ChoiceSolution::gap() const {
  return (upper_bound - value) / std::max(1.0, std::abs(upper_bound));
}

std::string to_lp(const ChoiceProblem& p) {
  validate(p);
  const std::size_t n = p.n_options(), d = p.n_dims;
  std::string out = fmt::format(
      "\\ hwprune multiple-choice knapsack: {} groups, {} options, {} "
      "dimensions\nMaximize\n obj:",
      p.n_groups(), n, d);
  // Every variable appears in the objective (with coefficient 0 if need be) so cbc knows it.
  detail::append_lp_terms(
      out, n, [&](std::size_t o) { return p.value[o]; }, false);
  out += "\nSubject To\n";
  for (std::size_t g = 0; g < p.n_groups(); ++g) {
    out += fmt::format(" g{}:", g);
    for (std::size_t o = p.offsets[g]; o < p.offsets[g + 1]; ++o)
      out += fmt::format("{} x{}", o > p.offsets[g] ? " +" : "", o);
    out += " = 1\n";
  }
  if (n > 0) {
    for (std::size_t k = 0; k < d; ++k) {
      out += fmt::format(" c{}:", k);
      detail::append_lp_terms(
          out, n, [&](std::size_t o) { return p.weight[o * d + k]; }, true);
      out += fmt::format(" <= {:.17g}\n", p.capacity[k]);
    }
  }
  out += "Binary\n";
  for (std::size_t o = 0; o < n; ++o) out += fmt::format(" x{}\n", o);
  out += "End\n";
  return out;
}

namespace {

using detail::Clock;
using detail::seconds_since;

// The options worth deciding between: per group those that fit alone and are not dominated
// (another option of the group worth at least as much and no heavier in any dimension), with
// weights also divided by the effective capacity.
struct Reduced {
  std::size_t groups = 0, d = 0;
  std::vector<std::size_t> off{0};
  std::vector<std::size_t> orig;  // reduced option -> option of the problem
  std::vector<double> v, w, u;    // values; weights; weights / effective capacity
  std::vector<double> cap;        // effective capacities
};

Reduced reduce(const ChoiceProblem& p) {
  Reduced r;
  r.groups = p.n_groups();
  r.d = p.n_dims;
  for (double c : p.capacity) r.cap.push_back(effective_capacity(c));
  const std::size_t d = r.d;
  auto wt = [&](std::size_t o, std::size_t k) { return p.weight[o * d + k]; };
  std::vector<std::size_t> kept;
  for (std::size_t g = 0; g < r.groups; ++g) {
    kept.clear();
    for (std::size_t o = p.offsets[g]; o < p.offsets[g + 1]; ++o) {
      bool fits = true;
      for (std::size_t k = 0; k < d && fits; ++k) fits = wt(o, k) <= r.cap[k];
      if (!fits) continue;
      bool dominated = false;
      for (std::size_t q = p.offsets[g]; q < p.offsets[g + 1] && !dominated; ++q) {
        if (q == o || p.value[q] < p.value[o]) continue;
        bool lighter = true, equal = p.value[q] == p.value[o];
        for (std::size_t k = 0; k < d && lighter; ++k) {
          lighter = wt(q, k) <= wt(o, k);
          equal = equal && wt(q, k) == wt(o, k);
        }
        // Of identical options the first stays.
        dominated = lighter && (!equal || q < o);
      }
      if (!dominated) kept.push_back(o);
    }
    if (kept.empty())
      throw Error(fmt::format(
          "multiple-choice knapsack: no option of group {} fits the capacities on its own", g));
    for (std::size_t o : kept) {
      r.orig.push_back(o);
      r.v.push_back(p.value[o]);
      for (std::size_t k = 0; k < d; ++k) {
        r.w.push_back(wt(o, k));
        r.u.push_back(wt(o, k) / r.cap[k]);
      }
    }
    r.off.push_back(r.orig.size());
  }
  return r;
}

// The Lagrangian relaxation of the capacities with multipliers lambda >= 0 (per unit of
// normalised weight): L = sum_g max_o (v_o - lambda . u_o) + sum_k lambda_k >= the optimum.
struct Lagrange {
  std::vector<double> lambda;
  double bound = std::numeric_limits<double>::infinity();
};

double reduced_value(const Reduced& r, const std::vector<double>& lambda, std::size_t o) {
  double x = r.v[o];
  for (std::size_t k = 0; k < r.d; ++k) x -= lambda[k] * r.u[o * r.d + k];
  return x;
}

// L(lambda), and in `load` the normalised weights of the maximising options.
double lagrangian(const Reduced& r, const std::vector<double>& lambda, std::vector<double>& load) {
  load.assign(r.d, 0.0);
  double L = std::accumulate(lambda.begin(), lambda.end(), 0.0);
  for (std::size_t g = 0; g < r.groups; ++g) {
    std::size_t best = r.off[g];
    double bv = reduced_value(r, lambda, best);
    for (std::size_t o = r.off[g] + 1; o < r.off[g + 1]; ++o) {
      const double x = reduced_value(r, lambda, o);
      if (x > bv) bv = x, best = o;
    }
    L += bv;
    for (std::size_t k = 0; k < r.d; ++k) load[k] += r.u[best * r.d + k];
  }
  return L;
}

// Subgradient descent on L from `start` (Polyak steps towards `target`, the value of a choice
// that fits, or NaN when none is known); returns the best multipliers seen.
Lagrange multipliers(const Reduced& r, double target, const Lagrange& start = {}) {
  Lagrange best = start;
  std::vector<double> lambda = start.lambda, load;
  lambda.resize(r.d, 0.0);
  const std::size_t work = std::max<std::size_t>(1, r.orig.size() * std::max<std::size_t>(1, r.d));
  const int iterations = static_cast<int>(std::clamp<std::size_t>(300'000'000 / work, 100, 300));
  double theta = 2.0;
  int since = 0;
  for (int it = 0; it < iterations; ++it) {
    const double L = lagrangian(r, lambda, load);
    if (L < best.bound) {
      best.bound = L;
      best.lambda = lambda;
      since = 0;
    } else if (++since >= 15) {
      theta /= 2;
      since = 0;
    }
    double norm = 0;
    for (std::size_t k = 0; k < r.d; ++k) {
      const double s = 1.0 - load[k];  // a subgradient of L in lambda_k
      // Only directions that can move lambda count (a slack dimension at 0 stays at 0).
      if (!(lambda[k] <= 0 && s > 0)) norm += s * s;
    }
    if (norm == 0 || theta < 1e-6) break;  // the maximising choice fits: L is optimal there
    // Without a known choice the target is a guess 10% below the bound.
    const double goal =
        std::isfinite(target) ? target : best.bound - 0.1 * std::max(1.0, std::abs(best.bound));
    const double step = theta * std::max(L - goal, 1e-9 * std::max(1.0, std::abs(L))) / norm;
    for (std::size_t k = 0; k < r.d; ++k)
      lambda[k] = std::max(0.0, lambda[k] - step * (1.0 - load[k]));
  }
  if (best.lambda.empty()) best.lambda.assign(r.d, 0.0);
  return best;
}

// A choice of reduced options (per group) with its loads in original units.
struct Incumbent {
  std::vector<std::size_t> pick;  // reduced option per group
  std::vector<double> load;
  double value = -std::numeric_limits<double>::infinity();
  bool found = false;
};

bool fits(const Reduced& r, const std::vector<double>& load) {
  for (std::size_t k = 0; k < r.d; ++k)
    if (!(load[k] <= r.cap[k])) return false;
  return true;
}

void apply(const Reduced& r, Incumbent& c, std::size_t g, std::size_t o) {
  const std::size_t old = c.pick[g];
  for (std::size_t k = 0; k < r.d; ++k) c.load[k] += r.w[o * r.d + k] - r.w[old * r.d + k];
  c.value += r.v[o] - r.v[old];
  c.pick[g] = o;
}

// The lightest option of every group (least summed normalised weight, then most value).
Incumbent lightest(const Reduced& r) {
  Incumbent c;
  c.load.assign(r.d, 0.0);
  c.value = 0;
  for (std::size_t g = 0; g < r.groups; ++g) {
    std::size_t best = r.off[g];
    auto sum = [&](std::size_t o) {
      double s = 0;
      for (std::size_t k = 0; k < r.d; ++k) s += r.u[o * r.d + k];
      return s;
    };
    for (std::size_t o = r.off[g] + 1; o < r.off[g + 1]; ++o)
      if (sum(o) < sum(best) || (sum(o) == sum(best) && r.v[o] > r.v[best])) best = o;
    c.pick.push_back(best);
    c.value += r.v[best];
    for (std::size_t k = 0; k < r.d; ++k) c.load[k] += r.w[best * r.d + k];
  }
  c.found = fits(r, c.load);
  return c;
}

struct Move {
  double score;
  std::size_t g, o;
};

void sort_moves(std::vector<Move>& moves, bool ascending) {
  std::sort(moves.begin(), moves.end(), [&](const Move& x, const Move& y) {
    if (x.score != y.score) return ascending ? x.score < y.score : x.score > y.score;
    return x.g < y.g || (x.g == y.g && x.o < y.o);
  });
}

bool move_fits(const Reduced& r, const Incumbent& c, std::size_t g, std::size_t o) {
  const std::size_t cur = c.pick[g];
  for (std::size_t k = 0; k < r.d; ++k)
    if (!(c.load[k] + (r.w[o * r.d + k] - r.w[cur * r.d + k]) <= r.cap[k])) return false;
  return true;
}

// Upgrades that fit, most value per unit of (normalised) weight added first, until none does.
void improve(const Reduced& r, Incumbent& c) {
  std::vector<Move> moves;
  for (int pass = 0; pass < 4; ++pass) {
    moves.clear();
    for (std::size_t g = 0; g < r.groups; ++g) {
      const std::size_t cur = c.pick[g];
      for (std::size_t o = r.off[g]; o < r.off[g + 1]; ++o) {
        if (!(r.v[o] > r.v[cur])) continue;
        double add = 0;
        for (std::size_t k = 0; k < r.d; ++k)
          add += std::max(0.0, r.u[o * r.d + k] - r.u[cur * r.d + k]);
        moves.push_back({(r.v[o] - r.v[cur]) / (add + 1e-12), g, o});
      }
    }
    sort_moves(moves, /*ascending=*/false);
    bool changed = false;
    for (const Move& m : moves) {
      if (!(r.v[m.o] > r.v[c.pick[m.g]]) || !move_fits(r, c, m.g, m.o)) continue;
      apply(r, c, m.g, m.o);
      changed = true;
    }
    if (!changed) break;
  }
}

// The Lagrangian choice, repaired (cheapest value per unit of overloaded weight given up)
// until it fits; found is false if the repair fails.
Incumbent repaired(const Reduced& r, const std::vector<double>& lambda) {
  Incumbent c;
  c.load.assign(r.d, 0.0);
  c.value = 0;
  for (std::size_t g = 0; g < r.groups; ++g) {
    std::size_t best = r.off[g];
    for (std::size_t o = r.off[g] + 1; o < r.off[g + 1]; ++o)
      if (reduced_value(r, lambda, o) > reduced_value(r, lambda, best)) best = o;
    c.pick.push_back(best);
    c.value += r.v[best];
    for (std::size_t k = 0; k < r.d; ++k) c.load[k] += r.w[best * r.d + k];
  }
  std::vector<Move> moves;
  std::vector<double> mu(r.d);
  for (int pass = 0; pass < 2 * static_cast<int>(r.d) + 4 && !fits(r, c.load); ++pass) {
    for (std::size_t k = 0; k < r.d; ++k) mu[k] = c.load[k] > r.cap[k] ? c.load[k] / r.cap[k] : 0;
    auto a = [&](std::size_t o) {
      double s = 0;
      for (std::size_t k = 0; k < r.d; ++k) s += mu[k] * r.u[o * r.d + k];
      return s;
    };
    moves.clear();
    for (std::size_t g = 0; g < r.groups; ++g) {
      const std::size_t cur = c.pick[g];
      for (std::size_t o = r.off[g]; o < r.off[g + 1]; ++o)
        if (a(o) < a(cur)) moves.push_back({(r.v[cur] - r.v[o]) / (a(cur) - a(o)), g, o});
    }
    sort_moves(moves, /*ascending=*/true);
    std::vector<std::uint8_t> moved(r.groups, 0);
    for (const Move& m : moves) {
      if (fits(r, c.load)) break;
      if (moved[m.g]) continue;
      apply(r, c, m.g, m.o);
      moved[m.g] = 1;
    }
  }
  c.found = fits(r, c.load);
  return c;
}

// The surrogate weight sum_k s_k u_ok of every option; s = lambda, or all ones when lambda is 0.
std::vector<double> surrogate(const Reduced& r, const std::vector<double>& lambda) {
  std::vector<double> s = lambda;
  if (std::all_of(s.begin(), s.end(), [](double x) { return x <= 0; })) s.assign(r.d, 1.0);
  std::vector<double> a(r.orig.size(), 0.0);
  for (std::size_t o = 0; o < a.size(); ++o)
    for (std::size_t k = 0; k < r.d; ++k) a[o] += s[k] * r.u[o * r.d + k];
  return a;
}

// The upper convex hull of group g's options in (a, v), from the lightest (most valuable of
// the lightest) up: along it value rises and value per unit of a falls.
std::vector<std::size_t> upper_hull(const Reduced& r, std::size_t g, const std::vector<double>& a) {
  std::vector<std::size_t> opts, h;
  for (std::size_t o = r.off[g]; o < r.off[g + 1]; ++o) opts.push_back(o);
  std::stable_sort(opts.begin(), opts.end(), [&](std::size_t x, std::size_t y) {
    return a[x] < a[y] || (a[x] == a[y] && r.v[x] > r.v[y]);
  });
  for (std::size_t o : opts) {
    if (!h.empty() && (!(r.v[o] > r.v[h.back()]) || a[o] == a[h.back()])) continue;
    // Drop points on or below the segment from their predecessor to o.
    while (h.size() >= 2) {
      const std::size_t p1 = h[h.size() - 2], p2 = h.back();
      if ((r.v[o] - r.v[p2]) / (a[o] - a[p2]) >= (r.v[p2] - r.v[p1]) / (a[p2] - a[p1]))
        h.pop_back();
      else
        break;
    }
    h.push_back(o);
  }
  return h;
}

// The multiple-choice greedy on the surrogate weight: every group starts at its lightest option and
// climbs its upper convex hull of (a, v); all climbs, most value per unit of a first, are taken
// while they fit every capacity (a group whose next climb does not fit stops there).
Incumbent hull_greedy(const Reduced& r, const std::vector<double>& lambda) {
  const std::vector<double> a = surrogate(r, lambda);
  Incumbent c;
  c.load.assign(r.d, 0.0);
  c.value = 0;
  std::vector<std::vector<std::size_t>> hull(r.groups);
  std::vector<Move> climbs;
  for (std::size_t g = 0; g < r.groups; ++g) {
    const auto& h = hull[g] = upper_hull(r, g, a);
    c.pick.push_back(h[0]);
    c.value += r.v[h[0]];
    for (std::size_t k = 0; k < r.d; ++k) c.load[k] += r.w[h[0] * r.d + k];
    for (std::size_t j = 1; j < h.size(); ++j)
      climbs.push_back({(r.v[h[j]] - r.v[h[j - 1]]) / (a[h[j]] - a[h[j - 1]]), g, h[j]});
  }
  c.found = fits(r, c.load);
  if (!c.found) return c;
  // Climbs of one group have falling efficiency, so the sort keeps them in hull order.
  sort_moves(climbs, /*ascending=*/false);
  std::vector<std::uint8_t> stopped(r.groups, 0);
  std::vector<std::size_t> at(r.groups, 0);
  for (const Move& m : climbs) {
    if (stopped[m.g] || hull[m.g][at[m.g] + 1] != m.o) continue;
    if (!move_fits(r, c, m.g, m.o)) {
      stopped[m.g] = 1;
      continue;
    }
    apply(r, c, m.g, m.o);
    ++at[m.g];
  }
  return c;
}

// The best of the repaired Lagrangian choice, the hull greedy and `light` (the lightest
// choice), each that fits improved; found is false when none fits.
Incumbent greedy(const Reduced& r, const std::vector<double>& lambda, const Incumbent& light) {
  Incumbent best;
  for (Incumbent c : {repaired(r, lambda), hull_greedy(r, lambda), light}) {
    if (!c.found) continue;
    improve(r, c);
    if (!best.found || c.value > best.value) best = std::move(c);
  }
  return best;
}

// Depth-first branch-and-bound over the groups (largest regret first, options by reduced
// value), bounded by the Lagrangian with the root's multipliers:
//   value so far + sum over the open groups of max_o (v_o - lambda . u_o) + lambda . residual.
// Returns false on the time limit.
bool branch_and_bound(const Reduced& r, const Lagrange& lag, const Options& opt,
                      Clock::time_point t0, Incumbent& best, std::uint64_t& nodes) {
  const std::size_t G = r.groups, d = r.d;
  const auto& lambda = lag.lambda;
  std::vector<double> regret(G, 0), top(G, 0);
  std::vector<std::vector<std::size_t>> opts(G);
  for (std::size_t g = 0; g < G; ++g) {
    for (std::size_t o = r.off[g]; o < r.off[g + 1]; ++o) opts[g].push_back(o);
    std::stable_sort(opts[g].begin(), opts[g].end(), [&](std::size_t a, std::size_t b) {
      return reduced_value(r, lambda, a) > reduced_value(r, lambda, b);
    });
    top[g] = reduced_value(r, lambda, opts[g][0]);
    regret[g] = opts[g].size() > 1 ? top[g] - reduced_value(r, lambda, opts[g][1])
                                   : std::numeric_limits<double>::infinity();
  }
  std::vector<std::size_t> order(G);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return regret[a] < regret[b]; });
  // Groups with one option first (they decide nothing), then the smallest regret last.
  std::reverse(order.begin(), order.end());
  std::vector<double> suffix(G + 1, 0.0), min_w((G + 1) * d, 0.0);
  for (std::size_t i = G; i-- > 0;) {
    const std::size_t g = order[i];
    suffix[i] = suffix[i + 1] + top[g];
    for (std::size_t k = 0; k < d; ++k) {
      double m = std::numeric_limits<double>::infinity();
      for (std::size_t o : opts[g]) m = std::min(m, r.w[o * d + k]);
      min_w[i * d + k] = min_w[(i + 1) * d + k] + m;
    }
  }
  std::vector<double> load(d, 0.0);
  double value = 0;
  std::vector<std::size_t> pos(G + 1, 0), chosen(G, 0);
  auto tolerance = [&] { return opt.rel_gap * std::max(1.0, std::abs(best.value)); };
  auto node_bound = [&](std::size_t i) {
    double b = value + suffix[i];
    for (std::size_t k = 0; k < d; ++k) b += lambda[k] * (r.cap[k] - load[k]) / r.cap[k];
    return b;
  };
  std::size_t i = 0;
  bool entering = true;
  // Back to the parent, undoing its choice, on to its next option; false at the root.
  auto up = [&] {
    if (i == 0) return false;
    --i;
    const std::size_t o = chosen[i];
    for (std::size_t k = 0; k < d; ++k) load[k] -= r.w[o * d + k];
    value -= r.v[o];
    ++pos[i];
    entering = false;
    return true;
  };
  while (true) {
    if (entering) {
      if ((++nodes & 4095) == 0 && seconds_since(t0) > opt.time_limit_s) return false;
      bool prune = i < G && best.found && node_bound(i) <= best.value + tolerance();
      for (std::size_t k = 0; k < d && !prune && i < G; ++k)
        prune = load[k] + min_w[i * d + k] > r.cap[k] * (1 + 1e-12);
      if (i == G) {
        if (!best.found || value > best.value) {
          best.found = true;
          best.value = value;
          best.load = load;
          for (std::size_t j = 0; j < G; ++j) best.pick[order[j]] = chosen[j];
        }
        prune = true;
      }
      if (prune) {
        if (!up()) return true;
        continue;
      }
      pos[i] = 0;
    }
    const std::size_t g = order[i];
    const double here = node_bound(i);
    bool descended = false;
    for (; pos[i] < opts[g].size(); ++pos[i]) {
      const std::size_t o = opts[g][pos[i]];
      // The child's bound is this node's less what the option gives up against the best.
      if (best.found && here - (top[g] - reduced_value(r, lambda, o)) <= best.value + tolerance())
        break;  // the options after it give up more
      bool ok = true;
      for (std::size_t k = 0; k < d && ok; ++k) ok = load[k] + r.w[o * d + k] <= r.cap[k];
      if (!ok) continue;
      chosen[i] = o;
      for (std::size_t k = 0; k < d; ++k) load[k] += r.w[o * d + k];
      value += r.v[o];
      ++i;
      entering = true;
      descended = true;
      break;
    }
    if (!descended && !up()) return true;
  }
}

// Multipliers towards the lightest choice's value, the greedy with them, and the multipliers
// refined towards the greedy's value (a target close to the optimum makes the Polyak steps
// converge); the greedy again if they changed.
std::pair<Incumbent, Lagrange> incumbent_and_bound(const Reduced& r) {
  const Incumbent light = lightest(r);
  Lagrange lag = multipliers(r, light.found ? light.value : std::nan(""));
  Incumbent c = greedy(r, lag.lambda, light);
  if (!c.found) return {c, lag};
  const Lagrange refined = multipliers(r, c.value, lag);
  if (refined.lambda != lag.lambda) {
    Incumbent again = greedy(r, refined.lambda, light);
    if (again.found && again.value > c.value) c = std::move(again);
  }
  return {c, refined};
}

// The solution of the problem from a reduced choice; error when none was found.
ChoiceSolution finish(const ChoiceProblem& p, const Reduced& r, const Incumbent& c,
                      const char* method) {
  if (!c.found)
    throw Error(fmt::format(
        "multiple-choice knapsack: no choice of the {} groups fits the capacities{}", p.n_groups(),
        std::string(method) == "greedy" ? " (the greedy found none; try the exact solver)" : ""));
  ChoiceSolution s;
  s.method = method;
  for (std::size_t o : c.pick) s.choice.push_back(r.orig[o]);
  s.value = value_of(p, s.choice);
  if (!feasible(p, s.choice))
    throw Error("multiple-choice knapsack: the choice found breaks a capacity by rounding");
  return s;
}

}  // namespace

ChoiceSolution solve_choice_greedy(const ChoiceProblem& p) {
  const auto t0 = Clock::now();
  validate(p);
  if (p.n_groups() == 0) return {{}, 0, 0, true, "empty", 0, 0};
  const Reduced r = reduce(p);
  const auto [c, lag] = incumbent_and_bound(r);
  ChoiceSolution s = finish(p, r, c, "greedy");
  s.upper_bound = std::max(s.value, lag.bound);
  s.optimal = s.gap() <= 1e-9;
  s.seconds = seconds_since(t0);
  return s;
}

ChoiceSolution solve_choice_exact(const ChoiceProblem& p, const Options& options) {
  const auto t0 = Clock::now();
  validate(p);
  if (p.n_groups() == 0) return {{}, 0, 0, true, "empty", 0, 0};
  const Reduced r = reduce(p);
  auto [best, lag] = incumbent_and_bound(r);
  if (!best.found) {
    best.pick.assign(r.groups, 0);
    best.value = -std::numeric_limits<double>::infinity();
  }
  std::uint64_t nodes = 0;
  const bool complete = branch_and_bound(r, lag, options, t0, best, nodes);
  if (!complete && !best.found)
    throw Error(fmt::format(
        "multiple-choice knapsack: no choice of the {} groups that fits the capacities was "
        "found within the time limit ({} s)",
        p.n_groups(), options.time_limit_s));
  ChoiceSolution s = finish(p, r, best, "branch-and-bound");
  s.nodes = nodes;
  s.optimal = complete;
  s.upper_bound = complete ? s.value : std::max(s.value, lag.bound);
  s.seconds = seconds_since(t0);
  return s;
}

}  // namespace hwprune::knapsack
