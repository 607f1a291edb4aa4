// Pieces shared by the CLI commands: loading a model (builtin or file), preparing data
// splits, and printing metrics.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "hwprune/data/loaders.hpp"
#include "hwprune/hw/estimate.hpp"
#include "hwprune/hw/hardware.hpp"
#include "hwprune/io/model_file.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/train/trainer.hpp"

namespace hwprune::cli {

// Where a command's model comes from: a file of any format (.hwp, .onnx, Keras .json/.h5,
// an hls4ml .yml naming a model), Keras weights for a .json, and an hls4ml config to apply.
struct ModelArgs {
  std::string model, weights, hls_config;
};
// Adds --weights and --hls-config (the command adds --model itself, with its own help).
void add_model_file_options(CLI::App* cmd, ModelArgs& a);
// Reads a.model (any format; a .hwp keeps its optimizer state), then applies a.hls_config.
// Error naming the path when it is neither a builtin nor a file.
io::ModelFile load_model_arg(const ModelArgs& a);
// Applies a.hls_config (if given) to a model that did not come from a file (a builtin).
void apply_hls_config_arg(Model& model, const ModelArgs& a);

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

// The model and data of a training command (train, prune): a builtin built for the data's
// outputs (precision default ap_fixed<16,6>, --hls-config applied) or a loaded model file,
// the train/validation/test parts, standardised with the model's standardisation (fitted on
// the training part when the model has none). Records the data provenance in the metadata.
struct TrainingInputArgs {
  ModelArgs src;
  std::string data, test_data, precision, task;
  double test_split = 0.2, val_split = 0.1;
};
struct TrainingInputs {
  io::ModelFile file;
  bool builtin = false;
  PreparedData data;  // data.train is moved into `train`; data.test is standardised
  data::Dataset train;
  std::optional<data::Dataset> val;
};
TrainingInputs prepare_training(const TrainingInputArgs& a, uint64_t seed);

// Hardware options shared by the commands that map a model to hardware (estimate, prune).
struct HardwareArgs {
  std::string strategy, io_type, family = "xc7", bram = "packed";
  int64_t rf = 1, pf = 1;
  int dsp_threshold = 9;
  bool closest_rf = false;
};
void add_hardware_options(CLI::App* cmd, HardwareArgs& a);
hw::HardwareDefaults hardware_defaults(const HardwareArgs& a);
hw::Device hardware_device(const HardwareArgs& a);  // Error on a bad family/threshold

// Number of torch threads: n if > 0; else all cores for models with convolutions and 1
// for the others (the measured fastest choice for small MLPs).
int resolve_threads(int requested, const Model& model);

// Human-readable metrics block (with a warning line per layer whose results wrapped), and
// the JSON form used by --json.
std::string format_overflows(const train::Metrics& m, const Model& model);
std::string format_metrics(const train::Metrics& m, const Model& model, const std::string& what);
nlohmann::json metrics_json(const train::Metrics& m, const Model& model);

// The figures of one layer's (or a total's) estimate as JSON: multipliers, dsp, bram18,
// parameters, nonzero, ff, latency_cycles.
nlohmann::json estimate_json(const hw::LayerEstimate& l);

// A plain-text table: the first row is the header; columns are as wide as their widest
// cell; a column whose cells (below the header) are all numbers is right-aligned.
std::string format_table(const std::vector<std::vector<std::string>>& rows,
                         const std::string& indent = "  ");

// Writes text to a file atomically ("-" = stdout).
void write_output(const std::string& path, const std::string& text);

}  // namespace hwprune::cli
