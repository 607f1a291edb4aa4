// hwprune predict: per-sample outputs of a model (scores, probabilities, predicted class) from
// the float QAT model or, with --integer, the bit-exact integer model the Verilog computes.
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "common.hpp"
#include "hwprune/data/predict.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::cli {

namespace {

struct PredictArgs {
  data::ModelSource source;
  data::EvalSpec eval;
  HardwareArgs hw;
  std::string out;
  bool integer = false, json = false;
};

// "accuracy 93.10% against the labels" when the rows have labels (classifier).
std::string against_labels(const data::Predictions& p, const data::Dataset& rows) {
  if (p.predicted.empty() || !rows.labelled() || rows.task != Task::Classification) return "";
  int64_t correct = 0;
  for (int64_t r = 0; r < p.rows; ++r)
    correct += p.predicted[static_cast<size_t>(r)] == rows.labels[static_cast<size_t>(r)];
  return fmt::format("; accuracy {:.2f}% against the labels",
                     100.0 * static_cast<double>(correct) / static_cast<double>(p.rows));
}

void run_predict(PredictArgs& a) {
  a.eval.labels_required = false;
  const hw::HardwareSpec hardware = hardware_spec(a.hw);
  if (!a.out.empty() && a.out != "-") {
    declare_output(a.out, "--out");
    (void)data::kPredictionFormats.parse(std::filesystem::path(a.out).extension().string());
  }
  const Model model = data::load_model_source(a.source).model;
  const data::EvalData d = data::prepare_eval(model, a.eval);
  FILE* human = a.json || a.out.empty() || a.out == "-" ? stderr : stdout;
  data::Predictions p;
  if (a.integer) {
    print_notes(human, hw::map_model(model, hardware).hardware.adjustments);
    p = data::predict_integer(model, d.rows.x, hardware);
  } else {
    p = data::predict(model, d.rows.x);
  }
  if (a.json) {
    nlohmann::json j = data::to_json(p, model, &d.rows);
    j.update({{"model", a.source.model},
              {"data", a.eval.data},
              {"split", d.what},
              {"mode", a.integer ? "integer" : "float"}});
    write_output("-", j.dump(2) + "\n");
  }
  if (a.out == "-" || (a.out.empty() && !a.json))
    write_output("-", data::predictions_csv(p, model, &d.rows));
  else if (!a.out.empty())
    data::write_predictions(a.out, p, model, &d.rows);
  fmt::print(human, "{}{} rows x {} outputs of the {} on {} [{}]{}\n",
             a.out.empty() || a.out == "-" ? "" : "wrote " + a.out + ": ", p.rows, p.outputs,
             a.integer ? fmt::format("integer model (raw {})", p.raw_type->str())
                       : std::string("float QAT model"),
             a.eval.data, d.what, against_labels(p, d.rows));
}

}  // namespace

std::function<void()> add_predict_command(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand(
      "predict",
      "Per-sample outputs of a model: scores, probabilities and the predicted class, from the "
      "QAT model or (--integer) the bit-exact integer model the Verilog computes");
  cmd->add_option("--model", a->source.model,
                  "A model file: .hwp, .onnx, Keras .json/.h5 or an hls4ml .yml naming one")
      ->required();
  add_model_file_options(cmd, a->source);
  add_eval_data_options(cmd, a->eval);
  cmd->add_flag("--integer", a->integer,
                "The bit-exact integer model (Dense/ReLU networks): raw integers and their real "
                "values, what synth's co-simulation checks the Verilog against");
  a->hw.device = false;
  add_hardware_options(cmd, a->hw);
  cmd->add_option("--out", a->out,
                  fmt::format("Write the predictions ({}; '-': CSV on stdout, the default "
                              "without --json)",
                              data::kPredictionFormats.list(", ")));
  cmd->add_flag("--json", a->json, "Print the predictions as JSON on stdout");
  cmd->footer("Output (docs/model-semantics.md, \"Predictions\"):\n" +
              data::kPredictionFormats.help_lines() +
              "Examples:\n"
              "  hwprune predict --model jet.hwp --data letter --out preds.csv\n"
              "  hwprune predict --model jet_pruned.hwp --data npy:X.npy --integer --out raw.npy\n"
              "  hwprune predict --model m.hwp --data csv:new.csv,label=none --json > preds.json");
  return [a] { run_predict(*a); };
}

}  // namespace hwprune::cli
