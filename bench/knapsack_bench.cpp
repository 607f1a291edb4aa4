// Knapsack solver benchmark: solve_exact and solve_greedy on seeded uncorrelated and
// pruning-like instances (1e4 and 1e5 items, 2 dimensions), each cross-checked against the cbc
// MIP solver on the same LP file; then solve_greedy alone on 1e6 items; then the
// multiple-choice solvers (choice.hpp) on joint pruning/precision instances (1e4 and 1e5
// groups of 5 options: pruned, 4/6/8-bit LUT multiplier, 16-bit DSP; DSP and LUT budgets)
// against cbc.
//
//   build/bench/knapsack_bench [--items 10000 --items 100000] [--dims 2] [--seed 1]
//                              [--kind uncorrelated|pruning|both|none] [--cbc-time-limit 120]
//                              [--greedy-items 1000000] [--time-limit 60]
//                              [--choice-groups 10000 --choice-groups 100000]
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "hwprune/knapsack/choice.hpp"
#include "hwprune/knapsack/knapsack.hpp"
#include "hwprune/util/error.hpp"

using namespace hwprune;
using knapsack::Problem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Values and weights uniform on [1, 1000] (3 decimals), capacity half of the total.
Problem uncorrelated(std::size_t n, std::size_t d, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> u(1000, 1000000);
  Problem p;
  p.n_items = n;
  p.n_dims = d;
  std::vector<double> total(d, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    p.value.push_back(u(rng) / 1000.0);
    for (std::size_t k = 0; k < d; ++k) {
      p.weight.push_back(u(rng) / 1000.0);
      total[k] += p.weight.back();
    }
  }
  for (std::size_t k = 0; k < d; ++k) p.capacity.push_back(std::round(total[k] * 0.5));
  return p;
}

// Pattern groups of 8 layers: every group of a layer costs (1 DSP, W/36 BRAM) with W from the
// layer's width; importance lognormal, normalised to mean 1 per layer; layer sizes uneven.
// Further dimensions (if --dims > 2) cost W/72 of a third resource. Budget: fraction of total.
Problem pruning_like(std::size_t n, std::size_t d, double budget, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> imp(0.0, 1.0);
  const int widths[8] = {16, 8, 12, 18, 16, 36, 12, 8};
  const double share[8] = {0.05, 0.10, 0.20, 0.25, 0.15, 0.10, 0.10, 0.05};
  Problem p;
  p.n_items = n;
  p.n_dims = d;
  std::size_t start = 0;
  for (int l = 0; l < 8; ++l) {
    const std::size_t cnt = l == 7 ? n - start : static_cast<std::size_t>(share[l] * n);
    std::vector<double> v(cnt);
    double sum = 0;
    for (double& x : v) sum += (x = imp(rng));
    for (double x : v) {
      p.value.push_back(x / (sum / static_cast<double>(cnt)));
      for (std::size_t k = 0; k < d; ++k)
        p.weight.push_back(k == 0 ? 1.0 : k == 1 ? widths[l] / 36.0 : widths[l] / 72.0);
    }
    start += cnt;
  }
  for (std::size_t k = 0; k < d; ++k) {
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) total += p.weight[i * d + k];
    p.capacity.push_back(budget * total);
  }
  return p;
}

struct CbcResult {
  std::string status = "not run";
  double objective = std::nan("");
  double seconds = 0;
};

CbcResult run_cbc(const std::string& lp_text, const std::filesystem::path& dir, double limit) {
  const auto lp = dir / "bench.lp", sol = dir / "bench.sol";
  std::filesystem::remove(sol);
  {
    std::ofstream out(lp);
    out << lp_text;
  }
  CbcResult r;
  const std::string cmd = fmt::format("cbc '{}' sec {} solve solu '{}' > '{}' 2>&1", lp.string(),
                                      limit, sol.string(), (dir / "cbc.log").string());
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = std::system(cmd.c_str());
  r.seconds = seconds_since(t0);
  std::ifstream in(sol);
  std::string first;
  if (rc != 0 || !std::getline(in, first)) {
    r.status = fmt::format("failed (exit {}, see {})", rc, (dir / "cbc.log").string());
    return r;
  }
  const auto at = first.find(" - objective value ");
  r.status = first.substr(0, at);
  if (at != std::string::npos) r.objective = std::stod(first.substr(at + 19));
  return r;
}

void bench_instance(const std::string& name, const Problem& p, double time_limit, double cbc_limit,
                    const std::filesystem::path& dir) {
  knapsack::Options opt;
  opt.time_limit_s = time_limit;
  const knapsack::Solution e = knapsack::solve_exact(p, opt);
  const knapsack::Solution g = knapsack::solve_greedy(p);
  fmt::print("{}: {} items, {} dims\n", name, p.n_items, p.n_dims);
  fmt::print("  exact : value {:.10g}  bound {:.10g}  optimal {}  method {}  nodes {}  {:.3f} s\n",
             e.value, e.upper_bound, e.optimal, e.method, e.nodes, e.seconds);
  fmt::print("  greedy: value {:.10g}  bound {:.10g}  gap {:.2e}  {:.3f} s\n", g.value,
             g.upper_bound, g.gap(), g.seconds);
  if (cbc_limit <= 0) return;
  const CbcResult c = run_cbc(knapsack::to_lp(p), dir, cbc_limit);
  const bool agree = std::abs(c.objective - e.value) <= 1e-6 * std::max(1.0, std::abs(e.value));
  fmt::print("  cbc   : value {:.10g}  status \"{}\"  {:.3f} s  (cbc / exact time {:.1f}x)\n",
             c.objective, c.status, c.seconds, c.seconds / std::max(e.seconds, 1e-6));
  fmt::print("  check : {} (relative 1e-6); exact - cbc = {:.3g}\n",
             agree ? "values agree" : "VALUES DIFFER", e.value - c.objective);
  std::fflush(stdout);
}

// Joint pruning and precision: per multiplier group, pruned (0), a LUT multiplier with 4, 6 or
// 8-bit weights (LUTs of a 4/6/8 x 16 multiplier, roughly 4.5 w LUTs per weight bit), or a
// 16-bit DSP. Values: the group's importance (lognormal) times the share a width keeps, which
// varies per group (how well its weights quantize). Budgets: a quarter of the groups on DSPs,
// 30 LUTs per group.
knapsack::ChoiceProblem joint(std::size_t groups, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> imp(0.0, 1.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  knapsack::ChoiceProblem p;
  p.n_dims = 2;  // DSP, LUT
  const double lut[5] = {0, 18, 27, 36, 0}, dsp[5] = {0, 0, 0, 0, 1};
  for (std::size_t g = 0; g < groups; ++g) {
    const double base = imp(rng), q = u(rng);  // q: how badly narrow widths do
    const double keep[5] = {0, 1 - 0.6 * q, 1 - 0.25 * q, 1 - 0.08 * q, 1};
    for (int o = 0; o < 5; ++o) {
      p.value.push_back(base * keep[o]);
      p.weight.push_back(dsp[o]);
      p.weight.push_back(lut[o]);
    }
    p.offsets.push_back(p.value.size());
  }
  p.capacity = {std::round(0.25 * static_cast<double>(groups)), 30.0 * static_cast<double>(groups)};
  return p;
}

void bench_choice(std::size_t groups, std::uint64_t seed, double time_limit, double cbc_limit,
                  const std::filesystem::path& dir) {
  const knapsack::ChoiceProblem p = joint(groups, seed);
  knapsack::Options opt;
  opt.time_limit_s = time_limit;
  const knapsack::ChoiceSolution e = knapsack::solve_choice_exact(p, opt);
  const knapsack::ChoiceSolution g = knapsack::solve_choice_greedy(p);
  fmt::print("multiple-choice joint: {} groups x 5 options, 2 dims\n", groups);
  fmt::print("  exact : value {:.10g}  bound {:.10g}  optimal {}  gap {:.2e}  nodes {}  {:.3f} s\n",
             e.value, e.upper_bound, e.optimal, e.gap(), e.nodes, e.seconds);
  fmt::print("  greedy: value {:.10g}  bound {:.10g}  gap {:.2e}  {:.3f} s\n", g.value,
             g.upper_bound, g.gap(), g.seconds);
  if (cbc_limit <= 0) return;
  const CbcResult c = run_cbc(knapsack::to_lp(p), dir, cbc_limit);
  fmt::print("  cbc   : value {:.10g}  status \"{}\"  {:.3f} s  (cbc / exact time {:.1f}x)\n",
             c.objective, c.status, c.seconds, c.seconds / std::max(e.seconds, 1e-6));
  fmt::print("  check : exact - cbc = {:.3g} (relative {:.2e})\n", e.value - c.objective,
             (e.value - c.objective) / std::max(1.0, std::abs(c.objective)));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hwprune knapsack benchmark against cbc"};
  std::vector<std::size_t> items{10000, 100000};
  std::size_t dims = 2, greedy_items = 1000000;
  std::uint64_t seed = 1;
  double cbc_limit = 120, time_limit = 60;
  std::string kind = "both";
  std::vector<std::size_t> choice_groups{10000, 100000};
  app.add_option("--items", items, "instance sizes")->capture_default_str();
  app.add_option("--dims", dims, "resource dimensions (>= 2)")->capture_default_str();
  app.add_option("--seed", seed)->capture_default_str();
  app.add_option("--cbc-time-limit", cbc_limit, "seconds per cbc run; 0 skips cbc")
      ->capture_default_str();
  app.add_option("--time-limit", time_limit, "seconds per solve_exact run")->capture_default_str();
  app.add_option("--kind", kind)
      ->check(CLI::IsMember({"uncorrelated", "pruning", "both", "none"}))
      ->capture_default_str();
  app.add_option("--greedy-items", greedy_items, "greedy-only run size; 0 skips it")
      ->capture_default_str();
  app.add_option("--choice-groups", choice_groups,
                 "multiple-choice instance sizes (groups; 0 skips)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    if (dims < 2) throw Error("knapsack_bench: --dims must be >= 2");
    const auto dir =
        std::filesystem::temp_directory_path() / fmt::format("hwprune-knapsack-bench-{}", seed);
    std::filesystem::create_directories(dir);
    for (std::size_t n : items) {
      if (kind == "none") break;
      if (kind != "pruning")
        bench_instance("uncorrelated", uncorrelated(n, dims, seed), time_limit, cbc_limit, dir);
      if (kind != "uncorrelated") {
        for (double budget : {0.5, 0.1})
          bench_instance(fmt::format("pruning-like, budget {}", budget),
                         pruning_like(n, dims, budget, seed), time_limit, cbc_limit, dir);
      }
    }
    if (greedy_items > 0) {
      for (const char* k : {"uncorrelated", "pruning-like"}) {
        const Problem p = std::string(k) == "uncorrelated"
                              ? uncorrelated(greedy_items, dims, seed)
                              : pruning_like(greedy_items, dims, 0.5, seed);
        const knapsack::Solution g = knapsack::solve_greedy(p);
        fmt::print("greedy only, {} {} items: value {:.10g}  bound {:.10g}  gap {:.2e}  {:.3f} s\n",
                   k, greedy_items, g.value, g.upper_bound, g.gap(), g.seconds);
      }
    }
    for (std::size_t n : choice_groups)
      if (n > 0) bench_choice(n, seed, time_limit, cbc_limit, dir);
    std::filesystem::remove_all(dir);
  } catch (const std::exception& e) {
    fmt::print(stderr, "knapsack_bench: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
