// 0/1 multi-dimensional knapsack: choose the weight groups to keep so that the summed importance
// is maximal while the kept resources (DSP, BRAM, ...) stay within budget in every dimension.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hwprune::knapsack {

// max sum_i value[i] * x[i]  s.t.  sum_i weight[i * n_dims + k] * x[i] <= capacity[k] for all k,
// x[i] in {0, 1}.
struct Problem {
  std::size_t n_items = 0, n_dims = 0;
  std::vector<double> value;     // n_items; finite, >= 0
  std::vector<double> weight;    // n_items * n_dims, item-major: weight[i * n_dims + k]
  std::vector<double> capacity;  // n_dims; finite, >= 0
};

// Throws hwprune::Error naming the item/dimension and the value at fault (size mismatch, NaN/Inf,
// negative).
void validate(const Problem& problem);

// Relative slack of the feasibility rule used everywhere (solvers and tests): a selection is
// feasible when, in every dimension k, the sum of the taken weights (added in item order) is
// <= capacity[k] + kFeasTol * max(1, capacity[k]).
inline constexpr double kFeasTol = 1e-9;

// capacity[k] + kFeasTol * max(1, capacity[k]).
double effective_capacity(double capacity);

// True when take (n_items entries, nonzero = keep) satisfies the rule above.
bool feasible(const Problem& problem, const std::vector<std::uint8_t>& take);

// Summed value of the taken items, added in item order.
double value_of(const Problem& problem, const std::vector<std::uint8_t>& take);

struct Options {
  double time_limit_s = 10.0;  // wall clock; on expiry return the best found with its proven bound
  double rel_gap = 1e-9;       // stop when (upper_bound - value) <= rel_gap * max(1, |upper_bound|)
};

struct Solution {
  std::vector<std::uint8_t> take;  // n_items, 1 = keep
  double value = 0;                // summed value of the taken items (value_of(take))
  double upper_bound = 0;          // proven upper bound on the optimum (== value when optimal)
  bool optimal = false;            // value proven optimal within Options::rel_gap
  std::string method;              // "empty", "preprocess", "sort", "dp", "branch-and-bound",
                                   // "greedy"
  std::uint64_t nodes = 0;         // branch-and-bound nodes (0 for the other methods)
  double seconds = 0;              // wall-clock time of the solve
  double gap() const;              // (upper_bound - value) / max(1, |upper_bound|)
};

// Exact solver: preprocessing, then sort (one weight class), dynamic programming (one integer
// dimension), or core branch-and-bound with reduced-cost fixing and class dominance.
Solution solve_exact(const Problem& problem, const Options& options = {});

// Fast O(n log n) heuristic for huge instances; upper_bound is a valid surrogate (Dantzig) bound.
Solution solve_greedy(const Problem& problem);

// CPLEX LP text (Maximize / Subject To / Binary / End) that `cbc file.lp solve solu out.txt`
// reads; variables are x0..x{n-1}, constraints c0..c{d-1}, numbers printed exactly ({:.17g}).
std::string to_lp(const Problem& problem);

}  // namespace hwprune::knapsack
