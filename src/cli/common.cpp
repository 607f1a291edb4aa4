#include "common.hpp"

#include <cmath>
#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hwprune/io/hls_config.hpp"
#include "hwprune/io/import.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::cli {

void add_model_file_options(CLI::App* cmd, ModelArgs& a) {
  cmd->add_option("--weights", a.weights,
                  "Keras weights (.h5) for a --model .json (default: <stem>_weights.h5 or "
                  "<stem>.h5 beside it)");
  cmd->add_option("--hls-config", a.hls_config,
                  "An hls4ml YAML config whose precisions, reuse factors, strategies and IOType "
                  "are applied to the model");
}

io::ModelFile load_model_arg(const ModelArgs& a) {
  if (is_builtin_model(a.model) && !std::filesystem::exists(a.model))
    throw Error(fmt::format(
        "--model {}: a builtin has no trained weights here; give a model file (e.g. from "
        "hwprune train --model {} --out m.hwp)",
        a.model, a.model));
  if (!std::filesystem::exists(a.model))
    throw Error(fmt::format("--model {}: not a builtin model ({}) and no such file", a.model,
                            fmt::join(builtin_model_names(), ", ")));
  io::ModelFile file;
  if (io::model_format(a.model) == io::ModelFormat::Native)
    file = io::load_model_file(a.model);
  else
    file.model = io::import_model(a.model, a.weights);
  apply_hls_config_arg(file.model, a);
  return file;
}

void apply_hls_config_arg(Model& model, const ModelArgs& a) {
  if (!a.hls_config.empty()) io::apply_hls_config(model, io::load_hls_config(a.hls_config));
}

PreparedData prepare_data(const std::string& spec, const std::string& test_spec,
                          const SplitOptions& split, const data::LoadOptions& load) {
  data::DataSplit ds = data::load_data(spec, load);
  PreparedData out;
  if (!test_spec.empty()) {
    data::LoadOptions test_load = load;
    if (test_load.class_names.empty() && ds.train.task == data::Task::Classification)
      test_load.class_names = ds.train.class_names;
    data::DataSplit t = data::load_data(test_spec, test_load);
    out.train = std::move(ds.train);
    out.test = std::move(t.train);
    out.test_origin = fmt::format("--test-data {}", test_spec);
  } else if (ds.test) {
    out.train = std::move(ds.train);
    out.test = std::move(ds.test);
    out.test_origin = "the source's test split";
  } else if (split.test_split > 0) {
    if (!(split.test_split < 1))
      throw Error(fmt::format("--test-split must be in [0, 1), got {}", split.test_split));
    auto [rest, held] = data::split_holdout(ds.train, split.test_split, split.seed);
    out.train = std::move(rest);
    out.test = std::move(held);
    out.test_origin = fmt::format("{:g}% held out (seed {})", 100 * split.test_split, split.seed);
  } else {
    out.train = std::move(ds.train);
  }
  return out;
}

TrainingInputs prepare_training(const TrainingInputArgs& a, uint64_t seed) {
  if (!(a.val_split >= 0 && a.val_split < 1))
    throw Error(fmt::format("--val-split must be in [0, 1), got {}", a.val_split));
  // The model first when it is a file: its class names decide how string labels map.
  const bool builtin = is_builtin_model(a.src.model);
  TrainingInputs in;
  in.builtin = builtin;
  data::LoadOptions load;
  if (!a.task.empty()) {
    if (a.task == "classification")
      load.task = data::Task::Classification;
    else if (a.task == "regression")
      load.task = data::Task::Regression;
    else
      throw Error(fmt::format("--task must be classification or regression, got \"{}\"", a.task));
  }
  if (!builtin) {
    in.file = load_model_arg(a.src);
    load.class_names = in.file.model.class_names;
    if (!load.task) load.task = in.file.model.task;
  }
  PreparedData d = prepare_data(a.data, a.test_data, {a.test_split, seed}, load);

  Model& model = in.file.model;
  if (builtin) {
    model = make_builtin_model(a.src.model, d.train.num_outputs(), seed);
    model.task = d.train.task;
    if (model.task == data::Task::Regression && model.layers.back().kind == LayerKind::Activation &&
        model.layers.back().activation == ActivationKind::Softmax)
      model.layers.pop_back();
    model.class_names = d.train.task == data::Task::Classification ? d.train.class_names
                                                                   : std::vector<std::string>{};
    model.set_precision(parse_precision(a.precision.empty() ? "ap_fixed<16,6>" : a.precision));
    apply_hls_config_arg(model, a.src);
  } else if (!a.precision.empty()) {
    model.set_precision(parse_precision(a.precision));
  }
  model.check_data(d.train.sample_shape(), d.train.num_outputs(), d.train.source);

  in.train = std::move(d.train);
  data::Dataset& train_part = in.train;
  std::optional<data::Dataset>& val = in.val;
  if (a.val_split > 0) {
    auto [rest, held] = data::split_holdout(train_part, a.val_split, seed + 1);
    train_part = std::move(rest);
    val = std::move(held);
  }
  if (model.standardisation.empty())
    model.standardisation =
        data::fit_standardisation(train_part.x, data::default_standardise_mode(train_part.x.shape));
  model.standardisation.apply(train_part.x);
  if (val) model.standardisation.apply(val->x);
  if (d.test) model.standardisation.apply(d.test->x);

  model.metadata["train.data"] = a.data;
  model.metadata["train.seed"] = std::to_string(seed);
  model.metadata["train.test_split"] = a.test_data.empty() ? fmt::format("{}", a.test_split) : "";
  model.metadata["train.val_split"] = fmt::format("{}", a.val_split);
  in.data = std::move(d);
  return in;
}

void add_hardware_options(CLI::App* cmd, HardwareArgs& a) {
  cmd->add_option("--rf", a.rf, "Reuse factor of every Dense/Conv layer without one of its own")
      ->capture_default_str();
  cmd->add_flag("--closest-rf", a.closest_rf,
                "Where --rf is invalid for a layer, use the closest valid RF (as hls4ml "
                "does) instead of stopping");
  cmd->add_option("--strategy", a.strategy,
                  "Latency, Resource or Unrolled (default: Latency at RF 1, else Resource)");
  cmd->add_option("--io-type", a.io_type, "io_parallel (default) or io_stream");
  cmd->add_option("--pf", a.pf, "Parallelization factor of Conv layers (io_parallel)")
      ->capture_default_str();
  cmd->add_option("--family", a.family, "FPGA family: xc7, xcu or xcup")->capture_default_str();
  cmd->add_option("--dsp-threshold", a.dsp_threshold,
                  "Weights narrower than this many bits use LUT multipliers, not DSPs")
      ->capture_default_str();
  cmd->add_option("--bram-model", a.bram,
                  "packed (hwprune's generator packs surviving lanes), hls4ml (a 36-bit "
                  "column goes only when all of it is pruned) or trimmed (packed, without the "
                  "ROM bit columns that are constant, as synthesis removes them)")
      ->capture_default_str();
}

hw::HardwareDefaults hardware_defaults(const HardwareArgs& a) {
  hw::HardwareDefaults d;
  d.reuse_factor = a.rf;
  d.parallelization_factor = a.pf;
  d.closest_valid_rf = a.closest_rf;
  if (!a.strategy.empty()) d.strategy = parse_strategy(a.strategy);
  if (!a.io_type.empty()) d.io_type = parse_io_type(a.io_type);
  return d;
}

hw::Device hardware_device(const HardwareArgs& a) {
  hw::Device device = hw::device_for_family(a.family);
  if (a.dsp_threshold < 1)
    throw Error(fmt::format("--dsp-threshold must be >= 1, got {}", a.dsp_threshold));
  device.dsp_min_weight_bits = a.dsp_threshold;
  return device;
}

int resolve_threads(int requested, const Model& model) {
  if (requested > 0) return requested;
  for (const auto& l : model.layers)
    if (l.is_conv()) return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return 1;
}

std::string format_overflows(const train::Metrics& m, const Model& model) {
  std::string s;
  for (const auto& o : m.overflows) {
    const Precision& p =
        o.layer == "input" ? model.input_precision : model.layer(o.layer).precision.result;
    s += fmt::format(
        "  warning: {} of {} results of '{}' overflowed {} and wrapped around, as they "
        "would in hardware (more integer bits, or AP_SAT, avoid it)\n",
        o.wrapped, o.values, o.layer, precision_str(p));
  }
  return s;
}

std::string format_metrics(const train::Metrics& m, const Model& model, const std::string& what) {
  std::string s;
  if (model.task == data::Task::Regression) {
    return fmt::format("{}: mse {:.6g}  mae {:.6g}  loss {:.6g}  ({} samples)\n", what, m.mse,
                       m.mae, m.loss, m.samples) +
           format_overflows(m, model);
  }
  s += fmt::format("{}: accuracy {:.2f}%  loss {:.4f}  ({} samples)\n", what, 100 * m.accuracy,
                   m.loss, m.samples);
  s += format_overflows(m, model);
  const size_t k = m.per_class_accuracy.size();
  size_t name_w = 5;
  for (size_t c = 0; c < k; ++c)
    name_w = std::max(name_w, c < model.class_names.size() ? model.class_names[c].size() : 2);
  s += fmt::format("  {:<{}}  {:>8}  {:>7}\n", "class", name_w, "accuracy", "samples");
  for (size_t c = 0; c < k; ++c) {
    int64_t row = 0;
    for (int64_t v : m.confusion[c]) row += v;
    const std::string name =
        c < model.class_names.size() ? model.class_names[c] : std::to_string(c);
    const std::string acc = std::isnan(m.per_class_accuracy[c])
                                ? "-"
                                : fmt::format("{:.2f}%", 100 * m.per_class_accuracy[c]);
    s += fmt::format("  {:<{}}  {:>8}  {:>7}\n", name, name_w, acc, row);
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

nlohmann::json metrics_json(const train::Metrics& m, const Model& model) {
  nlohmann::json j{{"samples", m.samples}, {"loss", m.loss}};
  nlohmann::json over = nlohmann::json::array();
  for (const auto& o : m.overflows)
    over.push_back({{"layer", o.layer}, {"wrapped", o.wrapped}, {"values", o.values}});
  j["overflows"] = over;
  if (model.task == data::Task::Regression) {
    j["mse"] = m.mse;
    j["mae"] = m.mae;
    return j;
  }
  j["accuracy"] = m.accuracy;
  j["class_names"] = model.class_names;
  nlohmann::json per = nlohmann::json::array();
  for (double v : m.per_class_accuracy)
    per.push_back(std::isnan(v) ? nlohmann::json() : nlohmann::json(v));
  j["per_class_accuracy"] = per;
  j["confusion_matrix"] = m.confusion;
  return j;
}

void write_output(const std::string& path, const std::string& text) {
  if (path == "-") {
    fmt::print("{}", text);
    std::fflush(stdout);
    return;
  }
  write_file_atomic(path, text);
}

nlohmann::json estimate_json(const hw::LayerEstimate& l) {
  return {{"multipliers", l.multipliers}, {"dsp", l.dsp},         {"bram18", l.bram18},
          {"parameters", l.parameters},   {"nonzero", l.nonzero}, {"ff", l.ff},
          {"latency_cycles", l.latency}};
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

}  // namespace hwprune::cli
