// hwprune convert: between the native model file, ONNX and Keras (by extension), with an
// hls4ml YAML config written beside an ONNX/Keras export.
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "common.hpp"
#include "hwprune/io/import.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::cli {

namespace {

struct ConvertArgs {
  data::ModelSource src;
  HardwareArgs hw;
  std::string out;
  std::string keras_flavour{io::kKerasFlavours.name(io::KerasFlavour::Plain)};
  bool no_quant = false, no_hls = false;
};

void run_convert(const ConvertArgs& a) {
  io::ExportOptions o;
  o.keras_flavour = io::kKerasFlavours.parse(a.keras_flavour);  // before any work
  o.quant_nodes = !a.no_quant;
  o.hls_config = !a.no_hls;
  for (const auto& f : io::export_files(a.out, o)) declare_output(f, "output");
  Model model = data::load_model_source(a.src).model;
  if (a.hw.given()) {
    // Requested hardware attributes, resolved and checked, then written with the model.
    const hw::HardwareSpec spec = hardware_spec(a.hw);
    const hw::MappedModel mapped = hw::map_model(model, spec);
    print_notes(stdout, mapped.hardware.adjustments);
    hw::record_hardware(model, mapped.hardware, spec.defaults);
  }
  for (const auto& f : io::export_model(model, a.out, o)) fmt::print("wrote {}\n", f);
  if (o.hls_config) print_notes(stdout, io::hls4ml_handoff_notes(model, a.out, o));
}

}  // namespace

std::function<void()> add_convert_command(CLI::App& app) {
  auto a = std::make_shared<ConvertArgs>();
  CLI::App* cmd = app.add_subcommand(
      "convert", "Convert a model between .hwp, ONNX and Keras (.json + .h5, or one .h5)");
  cmd->add_option("in", a->src.model,
                  "A model file (.hwp, .onnx, Keras .json/.h5) or an hls4ml .yml naming one")
      ->required();
  cmd->add_option("out", a->out, "Output: .hwp, .onnx, .json (writes <stem>_weights.h5 too) or .h5")
      ->required();
  add_model_file_options(cmd, a->src);
  a->hw.device = false;
  add_hardware_options(cmd, a->hw);
  cmd->add_option("--keras-flavour", a->keras_flavour,
                  fmt::format("Keras (.json/.h5) layers of a quantized model:\n{}",
                              io::kKerasFlavours.help_lines("    ")))
      ->capture_default_str();
  cmd->add_flag("--no-quant-nodes", a->no_quant, "ONNX: no QONNX Quant nodes");
  cmd->add_flag("--no-hls-config", a->no_hls,
                "Do not write <stem>_<ext>_hls4ml.yml beside an ONNX/Keras export");
  cmd->footer(
      "Examples:\n"
      "  hwprune convert pruned.hwp pruned.onnx         # + pruned_onnx_hls4ml.yml\n"
      "  hwprune convert pruned.hwp pruned.json --rf 4  # + pruned_weights.h5, "
      "pruned_json_hls4ml.yml\n"
      "  hwprune convert pruned.hwp pruned.json --keras-flavour qkeras   # QDense/QActivation\n"
      "  hwprune convert KERAS_3layer.json jet.hwp\n"
      "The hls4ml config is named after the export's stem and extension (<stem>_<ext>_hls4ml.yml,\n"
      "OutputDir <stem>_<ext>_hls4ml_prj), so exports of one model in several formats into one\n"
      "folder keep their own.");
  return [a] { run_convert(*a); };
}

}  // namespace hwprune::cli
