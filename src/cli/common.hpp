// Pieces shared by the CLI commands: the options several commands take (model source, data
// parts, hardware) translated into the library's specs, and printing (metrics, tables,
// outputs). The method itself lives in the library.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "hwprune/data/metrics.hpp"
#include "hwprune/data/prepare.hpp"
#include "hwprune/hw/estimate.hpp"
#include "hwprune/hw/map_model.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/report/report.hpp"

namespace hwprune::cli {

// --weights and --hls-config (the command adds --model itself, with its own help).
void add_model_file_options(CLI::App* cmd, data::ModelSource& source);

// The data options of a training command (train, prune): --data, --test-data, --test-split,
// --val-split, --precision, --task (the seed comes with the command's --seed).
struct TrainingArgs {
  data::TrainingSpec spec;
  std::string task;
};
void add_training_data_options(CLI::App* cmd, TrainingArgs& a);
data::TrainingSpec training_spec(const TrainingArgs& a, uint64_t seed);

// The data options of a command judging a trained model (evaluate, predict): --data,
// --test-data, --split, --test-split, --seed.
void add_eval_data_options(CLI::App* cmd, data::EvalSpec& spec);

// Hardware options (estimate, prune, synth, train, convert). A given --rf, --strategy,
// --io-type or --pf applies to every layer, over what the model file records (the command
// says so); without them each layer keeps its own attributes, and layers without any take
// RF 1 (Latency).
struct HardwareArgs {
  std::optional<int64_t> rf, pf;
  std::string strategy, io_type, family = "xc7", bram = "packed";
  int dsp_threshold = 9;
  bool closest_rf = false;
  // Options not meant for a command (convert: no device, no BRAM model).
  bool device = true;
  bool given() const { return rf || pf || !strategy.empty() || !io_type.empty(); }
};
void add_hardware_options(CLI::App* cmd, HardwareArgs& a);
hw::HardwareSpec hardware_spec(const HardwareArgs& a);  // Error on a bad family/threshold/name

// Prints each note of resolving the hardware ("layer 'fc1': reuse factor 2 (the model's) -> 4
// (requested)", closest valid RFs) as "note: ...".
void print_notes(FILE* out, const std::vector<std::string>& notes);

// Human-readable metrics block (with a warning line per quantization point whose results
// wrapped).
std::string format_overflows(const data::Metrics& m, const Model& model);
std::string format_metrics(const data::Metrics& m, const Model& model, const std::string& what);

// A plain-text table: the first row is the header; columns are as wide as their widest
// cell; a column whose cells (below the header) are all numbers is right-aligned.
std::string format_table(const std::vector<std::vector<std::string>>& rows,
                         const std::string& indent = "  ");

// Writes text to a file atomically ("-" = stdout).
void write_output(const std::string& path, const std::string& text);

// The stream for human-readable output: stderr when JSON owns stdout (--json -). Also checks
// before any work that a --json file can be written (its folder exists).
FILE* human_stream(const std::string& json_out);

// Writes the HTML report of runs and sweeps (report::write_html, this hwprune's version in
// the footer) and says so on `out`.
void write_report(FILE* out, const std::string& path, const std::string& title,
                  std::vector<report::Run> runs, std::vector<report::Sweep> sweeps = {});

}  // namespace hwprune::cli
