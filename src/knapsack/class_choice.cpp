// The multiple-choice knapsack coupled by class (choice.hpp, solve_choice_by_class): every
// assignment of one label per class restricts the groups' options; the restricted problems are
// bounded by the greedy's Lagrangian bound and solved best bound first.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "detail.hpp"
#include "hwprune/knapsack/choice.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::knapsack {

using detail::Clock;
using detail::seconds_since;

namespace {

void check_coupling(const ChoiceProblem& p, const ClassCoupling& c) {
  if (c.group_class.size() != p.n_groups())
    throw Error(fmt::format("class coupling: {} group classes for {} groups", c.group_class.size(),
                            p.n_groups()));
  if (c.option_label.size() != p.n_options())
    throw Error(fmt::format("class coupling: {} option labels for {} options",
                            c.option_label.size(), p.n_options()));
  for (std::size_t o = 0; o < c.option_label.size(); ++o)
    if (c.option_label[o] < 0)
      throw Error(fmt::format("class coupling: option {} has label {} (labels are >= 0)", o,
                              c.option_label[o]));
}

// The non-zero labels each class's options carry (ascending; empty: only free options).
std::vector<std::vector<int>> class_labels(const ChoiceProblem& p, const ClassCoupling& c) {
  std::size_t classes = 0;
  for (std::size_t k : c.group_class) classes = std::max(classes, k + 1);
  std::vector<std::set<int>> labels(classes);
  for (std::size_t g = 0; g < p.n_groups(); ++g)
    for (std::size_t o = p.offsets[g]; o < p.offsets[g + 1]; ++o)
      if (c.option_label[o] != 0) labels[c.group_class[g]].insert(c.option_label[o]);
  std::vector<std::vector<int>> out;
  for (const auto& s : labels) out.emplace_back(s.begin(), s.end());
  return out;
}

// One assignment's restricted problem and where its options come from.
struct Restricted {
  std::vector<int> label;  // per class (0 for a class with only free options)
  ChoiceProblem problem;
  std::vector<std::size_t> orig;  // per restricted option: the option of the full problem
  ChoiceSolution bound;           // the greedy's (its choice empty when it found none)
  double upper = 0;               // proven bound on the restricted optimum
};

// The problem restricted to options labelled 0 or their class's label; false when some group
// keeps no option.
bool restrict_to(const ChoiceProblem& p, const ClassCoupling& c, Restricted& r) {
  ChoiceProblem& q = r.problem;
  q.n_dims = p.n_dims;
  q.capacity = p.capacity;
  for (std::size_t g = 0; g < p.n_groups(); ++g) {
    const int want = r.label[c.group_class[g]];
    const std::size_t before = q.value.size();
    for (std::size_t o = p.offsets[g]; o < p.offsets[g + 1]; ++o) {
      if (c.option_label[o] != 0 && c.option_label[o] != want) continue;
      q.value.push_back(p.value[o]);
      q.weight.insert(q.weight.end(), p.weight.begin() + static_cast<std::ptrdiff_t>(o * p.n_dims),
                      p.weight.begin() + static_cast<std::ptrdiff_t>((o + 1) * p.n_dims));
      r.orig.push_back(o);
    }
    if (q.value.size() == before) return false;
    q.offsets.push_back(q.value.size());
  }
  return true;
}

// The greedy's incumbent and Lagrangian bound; without an incumbent the bound is every
// option's best value summed (capacities ignored).
void bound(Restricted& r) {
  try {
    r.bound = solve_choice_greedy(r.problem);
    r.upper = r.bound.upper_bound;
  } catch (const Error&) {
    r.bound = ChoiceSolution{};
    double ub = 0;
    const ChoiceProblem& q = r.problem;
    for (std::size_t g = 0; g < q.n_groups(); ++g)
      ub += *std::max_element(q.value.begin() + static_cast<std::ptrdiff_t>(q.offsets[g]),
                              q.value.begin() + static_cast<std::ptrdiff_t>(q.offsets[g + 1]));
    r.upper = ub;
  }
}

// True when `upper` exceeds `value` by more than the relative gap.
bool beats(double upper, double value, double rel_gap) {
  return upper - value > rel_gap * std::max(1.0, std::abs(upper));
}

}  // namespace

ChoiceSolution solve_choice_by_class(const ChoiceProblem& p, const ClassCoupling& coupling,
                                     const Options& options, bool greedy) {
  const auto t0 = Clock::now();
  validate(p);
  check_coupling(p, coupling);
  const std::vector<std::vector<int>> labels = class_labels(p, coupling);
  std::size_t total = 1;
  for (const auto& l : labels) {
    total *= std::max<std::size_t>(1, l.size());
    if (total > kMaxClassAssignments)
      throw Error(fmt::format(
          "class coupling: {} classes with up to {} labels each make more than {} assignments; "
          "give fewer widths",
          labels.size(),
          std::max_element(labels.begin(), labels.end(),
                           [](auto& a, auto& b) { return a.size() < b.size(); })
              ->size(),
          kMaxClassAssignments));
  }
  std::vector<Restricted> all;
  for (std::size_t a = 0; a < total; ++a) {
    Restricted r;
    std::size_t rest = a;
    for (const auto& l : labels) {
      const std::size_t n = std::max<std::size_t>(1, l.size());
      r.label.push_back(l.empty() ? 0 : l[rest % n]);
      rest /= n;
    }
    if (!restrict_to(p, coupling, r)) continue;
    bound(r);
    all.push_back(std::move(r));
  }
  std::sort(all.begin(), all.end(),
            [](const Restricted& a, const Restricted& b) { return a.upper > b.upper; });

  ChoiceSolution best;
  best.value = -std::numeric_limits<double>::infinity();
  const Restricted* from = nullptr;
  auto consider = [&](const ChoiceSolution& s, const Restricted& r) {
    if (!s.choice.empty() || r.problem.n_groups() == 0)
      if (s.value > best.value) {
        best = s;
        from = &r;
      }
  };
  for (const Restricted& r : all) consider(r.bound, r);
  double upper = -std::numeric_limits<double>::infinity();  // of the assignments left open
  std::size_t solved = 0;
  std::uint64_t nodes = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Restricted& r = all[i];
    if (!beats(r.upper, best.value, options.rel_gap))
      break;  // sorted: no later assignment beats it either
    const double left = options.time_limit_s - seconds_since(t0);
    if (greedy || left <= 0) {
      upper = std::max(upper, r.upper);
      continue;
    }
    Options o = options;
    o.time_limit_s = left;
    try {
      const ChoiceSolution s = solve_choice_exact(r.problem, o);
      ++solved;
      nodes += s.nodes;
      consider(s, r);
      if (!s.optimal) upper = std::max(upper, s.upper_bound);
    } catch (const Error&) {
      // None fits (proven when time is left) or none was found in time (it stays open).
      if (seconds_since(t0) >= options.time_limit_s) upper = std::max(upper, r.upper);
    }
  }
  if (!from)
    throw Error(fmt::format(
        "multiple-choice knapsack by class: no assignment of labels to the {} classes has a "
        "choice of the {} groups that fits the capacities{}",
        labels.size(), p.n_groups(),
        greedy ? " (the greedy found none; try the exact solver)" : ""));
  ChoiceSolution s;
  for (std::size_t o : best.choice) s.choice.push_back(from->orig[o]);
  s.value = value_of(p, s.choice);
  if (!feasible(p, s.choice))
    throw Error("multiple-choice knapsack by class: the choice found breaks a capacity");
  s.upper_bound = std::max(s.value, upper);
  s.optimal = !beats(s.upper_bound, s.value, options.rel_gap);
  s.method = fmt::format("classes: {} of {} assignments solved", solved, total);
  s.nodes = nodes;
  s.seconds = seconds_since(t0);
  return s;
}

}  // namespace hwprune::knapsack
