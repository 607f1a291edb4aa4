// hwprune estimate: per-layer and total hardware resources of a model from the hardware
// model, for the unpruned design and for the model's current zeros.
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.hpp"
#include "common.hpp"
#include "hwprune/hw/estimate.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::cli {

namespace {

struct EstimateArgs {
  data::ModelSource src;
  HardwareArgs hw;
  std::string precision;
  int outputs = 0;
  std::vector<int64_t> input_shape;
  bool json = false;
};

int default_outputs(const std::string& builtin) {
  return builtin == "fmnist-cnn" || builtin == "svhn-cnn" ? 10 : 5;
}

// The model to estimate: a builtin (untrained: its shape is what counts) or a file.
Model model_of(const EstimateArgs& a) {
  if (!is_builtin_model(a.src.model)) {
    Model model = data::load_model_source(a.src).model;
    if (!a.precision.empty()) model.set_precision(parse_precision(a.precision));
    return model;
  }
  return data::build_builtin(
      a.src, a.precision, a.outputs > 0 ? a.outputs : default_outputs(a.src.model),
      Shape(a.input_shape.begin(), a.input_shape.end()), Task::Classification, 1);
}

std::string strategy_cell(const hw::LayerHw& h) {
  std::string s = fmt::format("{}", to_string(h.strategy));
  if (h.io_type == IoType::Stream) s += " stream";
  if (h.instances() > 1) s += fmt::format(" PF{}", h.instances());
  return s;
}

std::string table(const hw::HardwareModel& hwm, const hw::ModelEstimate& e,
                  const std::string& title) {
  std::vector<std::vector<std::string>> rows{{"layer", "RF", "strategy", "BF", "mults", "DSP",
                                              "BRAM18", "LUT (mult)", "params (nz/all)", "FF~",
                                              "cycles"}};
  auto figures = [](std::vector<std::string> row, const hw::LayerEstimate& l) {
    for (int64_t v : {l.multipliers, l.dsp, l.bram18}) row.push_back(std::to_string(v));
    row.push_back(l.lut_multipliers < 0 ? "?" : std::to_string(l.lut_multipliers));
    row.push_back(fmt::format("{}/{}", l.nonzero, l.parameters));
    row.push_back(std::to_string(l.ff));
    row.push_back(std::to_string(l.latency));
    return row;
  };
  for (size_t i = 0; i < e.layers.size(); ++i) {
    const auto& l = e.layers[i];
    rows.push_back(figures({l.name, std::to_string(l.reuse_factor), strategy_cell(hwm.layers[i]),
                            std::to_string(l.block_factor)},
                           l));
  }
  rows.push_back(figures({"total", "", "", ""}, e.total));
  return title + "\n" + format_table(rows);
}

std::string ratio(int64_t before, int64_t after) {
  if (before == after) return "unchanged";
  if (after == 0) return fmt::format("{} -> 0", before);
  return fmt::format("{} -> {} ({:.2f}x)", before, after,
                     static_cast<double>(before) / static_cast<double>(after));
}

void run_estimate(const EstimateArgs& a) {
  const hw::MappedModel mapped = hw::map_model(model_of(a), hardware_spec(a.hw));
  const Model& model = mapped.model;
  const hw::HardwareModel& hwm = mapped.hardware;
  const hw::Device& device = hwm.device;
  if (hwm.layers.empty())
    throw Error(fmt::format("{}: the model has no Dense or Conv layer to estimate", a.src.model));

  const hw::BramModel bram = hw::parse_bram_model(a.hw.bram);
  const auto dense = hw::estimate_model(model, hwm, {bram, false});
  const auto now = hw::estimate_model(model, hwm, {bram, true});

  if (a.json) {
    nlohmann::json layers = nlohmann::json::array();
    for (size_t i = 0; i < hwm.layers.size(); ++i) {
      const auto& h = hwm.layers[i];
      layers.push_back({{"name", h.name},
                        {"type", to_string(h.kind)},
                        {"n_in", h.n_in},
                        {"n_out", h.n_out},
                        {"positions", h.positions},
                        {"reuse_factor", h.reuse_factor},
                        {"block_factor", h.block_factor},
                        {"parallelization_factor", h.instances()},
                        {"strategy", to_string(h.strategy)},
                        {"io_type", to_string(h.io_type)},
                        {"weight_precision", h.weight.str()},
                        {"input_precision", h.input.str()},
                        {"dsp_per_multiplier", h.dsp_per_multiplier(device)},
                        {"unpruned", hw::to_json(dense.layers[i])},
                        {"current", hw::to_json(now.layers[i])}});
    }
    const nlohmann::json j{
        {"model", a.src.model},
        {"family", device.family},
        {"dsp_threshold_bits", device.dsp_min_weight_bits},
        {"bram_model", to_string(bram)},
        {"rf_adjustments", hwm.adjustments},
        {"layers", layers},
        {"total", {{"unpruned", hw::to_json(dense.total)}, {"current", hw::to_json(now.total)}}}};
    write_output("-", j.dump(2) + "\n");
    return;
  }
  fmt::print("{}: {} ({} DSP for weights >= {} bits, BRAM model {})\n", a.src.model, model.name,
             device.family, device.dsp_min_weight_bits, to_string(bram));
  print_notes(stdout, hwm.adjustments);
  fmt::print("{}\n", table(hwm, dense, "Unpruned design (every weight present):"));
  fmt::print("{}", table(hwm, now, "Current model (masked and zero weights cost nothing):"));
  // Per-group widths (joint pruning and precision): the live weights at each width.
  for (const auto& l : now.layers)
    if (l.widths.size() > 1) {
      std::vector<std::string> parts;
      for (const auto& [bits, n] : l.widths) parts.push_back(fmt::format("{} at {} bits", n, bits));
      fmt::print("Widths of '{}': {}\n", l.name, fmt::join(parts, ", "));
    }
  if (dense.total.lut_multipliers >= 0 && now.total.lut_multipliers >= 0 &&
      dense.total.lut_multipliers != now.total.lut_multipliers)
    fmt::print("LUT multipliers: {} -> {} (table measured with Yosys)\n",
               dense.total.lut_multipliers, now.total.lut_multipliers);
  fmt::print("Savings: DSP {}, BRAM18 {}, multipliers {}, non-zero parameters {}\n",
             ratio(dense.total.dsp, now.total.dsp), ratio(dense.total.bram18, now.total.bram18),
             ratio(dense.total.multipliers, now.total.multipliers),
             ratio(dense.total.nonzero, now.total.nonzero));
}

}  // namespace

std::function<void()> add_estimate_command(CLI::App& app) {
  auto a = std::make_shared<EstimateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "estimate", "Estimate DSP, BRAM18, FFs and latency of a model's hardware, per layer");
  cmd->add_option("--model", a->src.model,
                  "A builtin name or a model file (.hwp, .onnx, Keras .json/.h5, hls4ml .yml)")
      ->required();
  add_model_file_options(cmd, a->src);
  add_hardware_options(cmd, a->hw);
  cmd->add_option("--precision", a->precision,
                  "Set every precision, e.g. 'ap_fixed<16,6>' (default: the model's own; "
                  "builtins: ap_fixed<16,6>)");
  cmd->add_option("--outputs", a->outputs,
                  "Outputs of a builtin model (default 5 for MLPs, 10 for the CNNs)");
  cmd->add_option("--input-shape", a->input_shape,
                  "Sample shape of a builtin model, e.g. 36 or 32,32,3 (default: the builtin's)")
      ->delimiter(',');
  cmd->add_flag("--json", a->json, "Print the estimate as JSON");
  cmd->footer(
      "Examples:\n"
      "  hwprune estimate --model jet-mlp --rf 4\n"
      "  hwprune estimate --model pruned.hwp --rf 2 --strategy Unrolled\n"
      "  hwprune estimate --model jet.json --hls-config jet_config.yml\n"
      "  hwprune estimate --model fmnist.hwp --rf 9 --pf 2 --precision 'ap_fixed<8,3>' --json");
  return [a] { run_estimate(*a); };
}

}  // namespace hwprune::cli
