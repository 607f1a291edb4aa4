// Options shared by the commands, translated into the library's specs; printing helpers.
#include "common.hpp"

#include <cmath>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::cli {

void add_model_file_options(CLI::App* cmd, data::ModelSource& source) {
  cmd->add_option("--weights", source.weights,
                  "Keras weights (.h5) for a --model .json (default: <stem>_weights.h5 or "
                  "<stem>.h5 beside it)");
  cmd->add_option("--hls-config", source.hls_config,
                  "An hls4ml YAML config whose precisions, reuse factors, strategies and IOType "
                  "are applied to the model");
}

void add_training_data_options(CLI::App* cmd, TrainingArgs& a) {
  data::TrainingSpec& s = a.spec;
  cmd->add_option("--data", s.data,
                  fmt::format("Dataset spec (any with ,task=classification|regression):\n{}",
                              data::kDataSources.help_lines("    ")))
      ->required();
  cmd->add_option("--test-data", s.test_data, "A separate test set (spec as --data)");
  cmd->add_option("--test-split", s.test_split,
                  "Held-out test fraction when the data has no test part of its own")
      ->capture_default_str();
  cmd->add_option("--val-split", s.val_split, "Validation fraction of the training part")
      ->capture_default_str();
  cmd->add_option("--precision", s.precision,
                  "Fixed-point type of every weight, bias, accumulator and result, e.g. "
                  "'ap_fixed<16,6>' (builtin default), or 'float'");
  cmd->add_option("--task", a.task,
                  fmt::format("{} (default: from the data)", kTaskNames.list(" or ")));
}

data::TrainingSpec training_spec(const TrainingArgs& a, uint64_t seed) {
  data::TrainingSpec s = a.spec;
  if (!a.task.empty()) s.task = kTaskNames.parse(a.task);
  s.seed = seed;
  return s;
}

void add_eval_data_options(CLI::App* cmd, data::EvalSpec& spec) {
  cmd->add_option("--data", spec.data, "Dataset spec (as for train)")->required();
  cmd->add_option("--test-data", spec.test_data, "A separate test set (spec as --data)");
  cmd->add_option("--split", spec.split,
                  fmt::format("Rows to use: {}", data::kSplitNames.list(", ")))
      ->capture_default_str();
  cmd->add_option("--test-split", spec.test_split,
                  "Held-out fraction when the data has no test part (default: as in training "
                  "when --data is the training data, else 0)");
  cmd->add_option("--seed", spec.seed, "Seed of the held-out split (default: as in training)");
}

void add_hardware_options(CLI::App* cmd, HardwareArgs& a) {
  cmd->add_option("--rf", a.rf,
                  "Reuse factor of every Dense/Conv layer (default: each layer's own from the "
                  "model file or --hls-config, else 1)");
  cmd->add_flag("--closest-rf", a.closest_rf,
                "Where an RF not recorded in the model is invalid for a layer, use the closest "
                "valid RF (as hls4ml does) instead of stopping");
  cmd->add_option("--strategy", a.strategy,
                  fmt::format("{} (default: each layer's own, else Latency at RF 1 and "
                              "Resource above)",
                              kStrategyNames.list(", ")));
  cmd->add_option(
      "--io-type", a.io_type,
      fmt::format("{} (default: each layer's own, else io_parallel)", kIoTypeNames.list(" or ")));
  cmd->add_option("--pf", a.pf, "Parallelization factor of Conv layers (io_parallel; default 1)");
  if (!a.device) return;
  cmd->add_option("--family", a.family, fmt::format("FPGA family: {}", hw::kFamilyNames.list(", ")))
      ->capture_default_str();
  cmd->add_option("--dsp-threshold", a.dsp_threshold,
                  "Weights narrower than this many bits use LUT multipliers, not DSPs")
      ->capture_default_str();
  cmd->add_option("--bram-model", a.bram,
                  fmt::format("How pruning shrinks a weight ROM:\n{}",
                              hw::kBramModelNames.help_lines("    ")))
      ->capture_default_str();
}

hw::HardwareSpec hardware_spec(const HardwareArgs& a) {
  hw::HardwareSpec spec;
  hw::HardwareDefaults& d = spec.defaults;
  LayerHardware& over = d.overrides;
  over.reuse_factor = a.rf;
  over.parallelization_factor = a.pf;
  if (!a.strategy.empty()) over.strategy = parse_strategy(a.strategy);
  if (!a.io_type.empty()) over.io_type = parse_io_type(a.io_type);
  if (a.rf) d.reuse_factor = *a.rf;
  if (a.pf) d.parallelization_factor = *a.pf;
  d.closest_valid_rf = a.closest_rf;
  (void)hw::parse_bram_model(a.bram);
  spec.device = hw::device_for_family(a.family);
  if (a.dsp_threshold < 1)
    throw Error(fmt::format("--dsp-threshold must be >= 1, got {}", a.dsp_threshold));
  spec.device.dsp_min_weight_bits = a.dsp_threshold;
  return spec;
}

void print_notes(FILE* out, const std::vector<std::string>& notes) {
  for (const auto& n : notes) fmt::print(out, "note: {}\n", n);
}

std::string format_overflows(const data::Metrics& m, const Model& model) {
  std::string s;
  for (const auto& o : m.overflows) {
    Precision type;
    if (o.layer == "input") {
      type = model.input_precision;
    } else {
      for (const auto& l : model.layers)
        if (l.name == o.layer) type = l.precision.result;
    }
    // The type with the integer bits the observed range needs.
    const std::string fit = type ? fitted_type(*type, o.max_abs).str() : "more integer bits";
    s += fmt::format(
        "  warning: {} of {} results of '{}' overflowed {} and wrapped around, as they "
        "would in hardware (|value| up to {:.4g}: {} holds them; --fit-integer-bits sets it, "
        "or AP_SAT saturates)\n",
        o.wrapped, o.values, o.layer, precision_str(type), o.max_abs, fit);
  }
  return s;
}

std::string format_metrics(const data::Metrics& m, const Model& model, const std::string& what) {
  std::string s;
  if (model.task == Task::Regression) {
    return fmt::format("{}: mse {:.6g}  mae {:.6g}  loss {:.6g}  ({} samples)\n", what, m.mse,
                       m.mae, m.loss, m.samples) +
           format_overflows(m, model);
  }
  s += fmt::format("{}: accuracy {:.2f}%  loss {:.4f}  ({} samples)\n", what, 100 * m.accuracy,
                   m.loss, m.samples);
  s += format_overflows(m, model);
  const size_t k = m.per_class_accuracy.size();
  auto name_of = [&](size_t c) {
    return c < model.class_names.size() ? model.class_names[c] : std::to_string(c);
  };
  size_t name_w = 5;
  for (size_t c = 0; c < k; ++c) name_w = std::max(name_w, name_of(c).size());
  s += fmt::format("  {:<{}}  {:>8}  {:>7}\n", "class", name_w, "accuracy", "samples");
  for (size_t c = 0; c < k; ++c) {
    int64_t row = 0;
    for (int64_t v : m.confusion[c]) row += v;
    const std::string acc = std::isnan(m.per_class_accuracy[c])
                                ? "-"
                                : fmt::format("{:.2f}%", 100 * m.per_class_accuracy[c]);
    s += fmt::format("  {:<{}}  {:>8}  {:>7}\n", name_of(c), name_w, acc, row);
  }
  if (k <= 12) {
    s += "  confusion matrix (rows: true class, columns: predicted)\n";
    for (size_t r = 0; r < k; ++r) {
      s += "   ";
      for (size_t c = 0; c < k; ++c) s += fmt::format(" {:>6}", m.confusion[r][c]);
      s += "\n";
    }
  } else {
    s += fmt::format("  ({} classes: the confusion matrix is in the --json output)\n", k);
  }
  return s;
}

FILE* human_stream(const std::string& json_out) {
  if (json_out == "-") return stderr;
  declare_output(json_out, "--json");
  return stdout;
}

void write_output(const std::string& path, const std::string& text) {
  if (path == "-") {
    fmt::print("{}", text);
    std::fflush(stdout);
    return;
  }
  write_file_atomic(path, text);
}

std::string format_table(const std::vector<std::vector<std::string>>& rows,
                         const std::string& indent) {
  size_t cols = 0;
  for (const auto& r : rows) cols = std::max(cols, r.size());
  std::vector<size_t> width(cols, 0);
  std::vector<bool> numeric(cols, true);
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t c = 0; c < rows[i].size(); ++c) {
      const std::string& cell = rows[i][c];
      width[c] = std::max(width[c], cell.size());
      if (i > 0 && !cell.empty() && cell.find_first_not_of("0123456789.-/%x") != std::string::npos)
        numeric[c] = false;
    }
  std::string out;
  for (const auto& r : rows) {
    std::string line = indent;
    for (size_t c = 0; c < r.size(); ++c) {
      if (c > 0) line += "  ";
      line += numeric[c] ? fmt::format("{:>{}}", r[c], width[c])
                         : fmt::format("{:<{}}", r[c], width[c]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

void write_report(FILE* out, const std::string& path, const std::string& title,
                  std::vector<report::Run> runs, std::vector<report::Sweep> sweeps) {
  report::Inputs in;
  in.title = title;
  in.version = HWPRUNE_VERSION;
  in.runs = std::move(runs);
  in.sweeps = std::move(sweeps);
  report::write_html(path, in);
  fmt::print(out, "wrote {}\n", path);
}

}  // namespace hwprune::cli
