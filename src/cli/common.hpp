// Pieces shared by the CLI commands: loading a model (builtin or file), preparing data
// splits, and printing metrics.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "hwprune/data/loaders.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/train/trainer.hpp"

namespace hwprune::cli {

// How the test part is chosen when a data source has no canonical test split.
struct SplitOptions {
  double test_split = 0.2;
  uint64_t seed = 1;
};

// The train/test parts of a --data spec: the source's own test part if it has one,
// else --test-data if given, else a seeded hold-out of test_split.
struct PreparedData {
  data::Dataset train;
  std::optional<data::Dataset> test;
  std::string test_origin;  // e.g. "canonical test split", "held out 20% (seed 1)"
};
PreparedData prepare_data(const std::string& spec, const std::string& test_spec,
                          const SplitOptions& split, const data::LoadOptions& load);

// Number of torch threads: n if > 0; else all cores for models with convolutions and 1
// for the others (the measured fastest choice for small MLPs).
int resolve_threads(int requested, const Model& model);

// Human-readable metrics block (with a warning line per layer whose results wrapped), and
// the JSON form used by --json.
std::string format_overflows(const train::Metrics& m, const Model& model);
std::string format_metrics(const train::Metrics& m, const Model& model, const std::string& what);
nlohmann::json metrics_json(const train::Metrics& m, const Model& model);

// Writes text to a file atomically ("-" = stdout).
void write_output(const std::string& path, const std::string& text);

}  // namespace hwprune::cli
