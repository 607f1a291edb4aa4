// Internals of the knapsack solver shared by its source files: the preprocessed (reduced)
// problem, Dantzig/Lagrangian bounds, multipliers, orderings and the core branch-and-bound.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "hwprune/knapsack/knapsack.hpp"

namespace hwprune::knapsack::detail {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Appends the LP terms " c0 x0 + c1 x1 - c2 x2 ..." of variables 0..n-1 to `out` (numbers
// exact, {:.17g}; eight terms per line). With skip_zero, terms with coefficient 0 are left out
// except the last variable's when nothing was written (a row keeps one term).
void append_lp_terms(std::string& out, std::size_t n,
                     const std::function<double(std::size_t)>& coef, bool skip_zero);

// What preprocessing leaves to decide: the free items (positive value, fit alone, nonzero weight
// in some binding dimension) restricted to the binding dimensions (those whose summed weight
// exceeds the capacity).
struct Reduced {
  std::size_t n = 0, d = 0;
  std::vector<std::size_t> item;  // n: index in the original problem
  std::vector<std::size_t> dim;   // d: index in the original problem
  std::vector<double> v;          // n values
  std::vector<double> w;          // n * d weights (original units)
  std::vector<double> u;          // n * d weights divided by the effective capacity
  std::vector<double> cap;        // d effective capacities (> 0)
};

struct Preprocessed {
  std::vector<std::uint8_t> take;  // n_items: 1 for the items preprocessing keeps
  double fixed_value = 0;          // their summed value
  Reduced red;
};

Preprocessed preprocess(const Problem& problem);

// Maps a reduced selection back: preprocessing's items plus the reduced items with x = 1.
std::vector<std::uint8_t> expand(const Preprocessed& pre, const std::vector<std::uint8_t>& x);

// Class id of every reduced item: items with identical weight vectors share a class.
std::vector<std::uint32_t> weight_classes(const Reduced& red, std::uint32_t* n_classes);

// One item of a 1-D continuous knapsack: value a > 0, weight s >= 0.
struct DantzigItem {
  double ratio;  // a / s (unused when s == 0)
  double a, s;
};

struct DantzigResult {
  double bound = 0;  // optimum of the continuous 1-D knapsack
  double ratio = 0;  // efficiency of the break item (0 when everything fits)
};

// Continuous 1-D knapsack with capacity cap in expected O(n) (weighted selection); reorders items.
DantzigResult dantzig(std::vector<DantzigItem>& items, double cap);

// Lagrangian multipliers in normalised units (capacity 1 in every dimension):
// L(lambda) = sum_k lambda_k + sum_j max(0, v_j - lambda . u_j) bounds the optimum.
struct Multipliers {
  std::vector<double> lambda;
  double bound = 0;
};

// effort 0: a few O(n) passes (greedy); effort 1: golden section (d = 2) and coordinate descent.
Multipliers multipliers(const Reduced& red, int effort);

double lagrangian_bound(const Reduced& red, const std::vector<double>& lambda);

// Surrogate weights s_j = mu . u_j with mu = lambda / sum(lambda) (uniform if lambda is 0).
std::vector<double> surrogate_mu(const Reduced& red, const std::vector<double>& lambda);
std::vector<double> surrogate_weights(const Reduced& red, const std::vector<double>& mu);

// Items by surrogate efficiency v/s descending, ties by value descending then index. Items of
// one weight class appear in value order.
std::vector<std::size_t> efficiency_order(const Reduced& red, const std::vector<double>& s);

// Takes the items in the given order whenever they fit in every dimension.
std::vector<std::uint8_t> greedy_fill(const Reduced& red, const std::vector<std::size_t>& order);

// Depth-first branch-and-bound over the core items, all other items fixed.
struct SearchInput {
  const Reduced* red = nullptr;
  const std::vector<std::uint32_t>* cls = nullptr;  // weight class of each item
  std::uint32_t n_classes = 0;
  const std::vector<double>* r = nullptr;              // reduced costs v_j - lambda . u_j
  double lagrangian = 0;                               // L(lambda)
  const std::vector<std::size_t>* order = nullptr;     // efficiency order of all items
  const std::vector<double>* s = nullptr;              // surrogate weights
  const std::vector<double>* mu = nullptr;             // surrogate multipliers
  const std::vector<std::uint8_t>* in_core = nullptr;  // 1 = branch on it
  const std::vector<std::uint8_t>* fixed = nullptr;    // value of the items not in the core
  Clock::time_point deadline;
  std::uint64_t node_limit = std::numeric_limits<std::uint64_t>::max();
  double rel_gap = 1e-9;
};

struct Incumbent {
  std::vector<std::uint8_t> x;  // reduced selection
  double value = 0;             // its value
};

struct SearchResult {
  bool complete = false;  // the restricted problem was searched exhaustively
  double open_bound = -std::numeric_limits<double>::infinity();  // bound on unexplored nodes
  std::uint64_t nodes = 0;
};

// Improves inc with any better solution (by more than the tolerance) of the restricted problem.
SearchResult core_search(const SearchInput& in, Incumbent& inc);

// The pruning tolerance for an incumbent value: half of rel_gap, relative.
inline double prune_eps(double rel_gap, double value) {
  const double a = value < 0 ? -value : value;
  return 0.5 * rel_gap * (a > 1 ? a : 1.0);
}

}  // namespace hwprune::knapsack::detail
