// hwprune inspect: the layer table of a model (any format, or an hls4ml config naming one):
// types, shapes, parameters, non-zero parameters, precisions, reuse factor and strategy.
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "common.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::cli {

namespace {

struct InspectArgs {
  data::ModelSource src;
  bool json = false;
};

int64_t nonzero_parameters(const Layer& l) {
  int64_t n = 0;
  for (const auto& [key, t] : l.weights) {
    if (key == "kernel") continue;
    for (float v : t.data) n += v != 0.0f;
  }
  return n + (l.has_kernel() ? l.nonzero_kernel_count() : 0);
}

std::string type_of(const Layer& l) {
  if (l.kind == LayerKind::Activation)
    return fmt::format("Activation({})", to_string(l.activation));
  return std::string(to_string(l.kind));
}

std::string opt_str(const std::optional<int64_t>& v) {
  return v ? std::to_string(*v) : "-";
}

void run_inspect(const InspectArgs& a) {
  Model model = data::load_model_source(a.src).model;
  model.infer_shapes();
  int64_t params = 0, nonzero = 0;
  if (a.json) {
    nlohmann::json layers = nlohmann::json::array();
    for (const Layer& l : model.layers) {
      nlohmann::json j{{"name", l.name},
                       {"type", type_of(l)},
                       {"input_shape", l.input_shape},
                       {"output_shape", l.output_shape},
                       {"parameters", l.parameter_count()},
                       {"nonzero", nonzero_parameters(l)},
                       {"precision",
                        {{"weight", precision_str(l.precision.weight)},
                         {"bias", precision_str(l.precision.bias)},
                         {"accum", precision_str(l.precision.accum)},
                         {"result", precision_str(l.precision.result)}}}};
      if (l.hardware.reuse_factor) j["reuse_factor"] = *l.hardware.reuse_factor;
      if (l.hardware.strategy) j["strategy"] = to_string(*l.hardware.strategy);
      if (l.hardware.io_type) j["io_type"] = to_string(*l.hardware.io_type);
      if (l.hardware.parallelization_factor)
        j["parallelization_factor"] = *l.hardware.parallelization_factor;
      params += l.parameter_count();
      nonzero += nonzero_parameters(l);
      layers.push_back(std::move(j));
    }
    const nlohmann::json out{{"model", model.name},
                             {"source", a.src.model},
                             {"input_shape", model.input_shape},
                             {"input_precision", precision_str(model.input_precision)},
                             {"layers", layers},
                             {"parameters", params},
                             {"nonzero", nonzero},
                             {"metadata", model.metadata}};
    write_output("-", out.dump(2) + "\n");
    return;
  }
  fmt::print("{}: model '{}', input {} {}\n", a.src.model, model.name, shape_str(model.input_shape),
             precision_str(model.input_precision));
  std::vector<std::vector<std::string>> rows{{"layer", "type", "input", "output", "params",
                                              "nonzero", "weight", "bias", "accum", "result", "RF",
                                              "strategy"}};
  for (const Layer& l : model.layers) {
    const bool k = l.has_kernel();
    const bool bn = l.kind == LayerKind::BatchNorm;
    auto prec = [](bool used, const Precision& p) { return used ? precision_str(p) : "-"; };
    const bool has_result = l.kind != LayerKind::Flatten && l.kind != LayerKind::Dropout &&
                            l.kind != LayerKind::MaxPool1D && l.kind != LayerKind::MaxPool2D;
    rows.push_back({l.name, type_of(l), shape_str(l.input_shape), shape_str(l.output_shape),
                    std::to_string(l.parameter_count()), std::to_string(nonzero_parameters(l)),
                    prec(k || bn, l.precision.weight),
                    prec((k && l.use_bias) || bn, l.precision.bias), prec(k, l.precision.accum),
                    prec(has_result, l.precision.result), k ? opt_str(l.hardware.reuse_factor) : "",
                    k && l.hardware.strategy ? std::string(to_string(*l.hardware.strategy)) : ""});
    params += l.parameter_count();
    nonzero += nonzero_parameters(l);
  }
  fmt::print("{}", format_table(rows));
  fmt::print(
      "  total: {} parameters, {} non-zero ({:.1f}% zero)\n", params, nonzero,
      params ? 100.0 * static_cast<double>(params - nonzero) / static_cast<double>(params) : 0.0);
}

}  // namespace

std::function<void()> add_inspect_command(CLI::App& app) {
  auto a = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand(
      "inspect", "Show a model's layers, shapes, parameters, precisions and hardware attributes");
  cmd->add_option("model", a->src.model,
                  "A model file (.hwp, .onnx, Keras .json/.h5) or an hls4ml .yml naming one")
      ->required();
  add_model_file_options(cmd, a->src);
  cmd->add_flag("--json", a->json, "Print the table as JSON");
  cmd->footer(
      "Examples:\n"
      "  hwprune inspect pruned.hwp\n"
      "  hwprune inspect qkeras_3layer.json --hls-config qkeras_3layer_config.yml\n"
      "  hwprune inspect three_layer.onnx --json");
  return [a] { run_inspect(*a); };
}

}  // namespace hwprune::cli
