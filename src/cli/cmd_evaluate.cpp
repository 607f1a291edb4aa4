// hwprune evaluate: accuracy/loss/per-class accuracy/confusion (or MSE) of a saved model on
// a dataset (data::evaluate: the float QAT model, without the training engine).
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "common.hpp"
#include "hwprune/data/predict.hpp"

namespace hwprune::cli {

namespace {

struct EvaluateArgs {
  data::ModelSource source;
  data::EvalSpec eval;
  bool json = false;
};

void run_evaluate(const EvaluateArgs& a) {
  const Model model = data::load_model_source(a.source).model;
  const data::EvalData d = data::prepare_eval(model, a.eval);
  const data::Metrics m = data::evaluate(model, d.rows);
  if (a.json) {
    const nlohmann::json j{{"model", a.source.model},
                           {"data", a.eval.data},
                           {"split", d.what},
                           {"metrics", data::to_json(m, model)}};
    write_output("-", j.dump(2) + "\n");
    return;
  }
  fmt::print(
      "{}",
      format_metrics(m, model, fmt::format("{} on {} [{}]", a.source.model, a.eval.data, d.what)));
}

}  // namespace

std::function<void()> add_evaluate_command(CLI::App& app) {
  auto a = std::make_shared<EvaluateArgs>();
  CLI::App* cmd = app.add_subcommand("evaluate", "Evaluate a saved model on a dataset");
  cmd->add_option("--model", a->source.model,
                  "A model file: .hwp, .onnx, Keras .json/.h5 or an hls4ml .yml naming one")
      ->required();
  add_model_file_options(cmd, a->source);
  add_eval_data_options(cmd, a->eval);
  cmd->add_flag("--json", a->json, "Print the metrics as JSON");
  cmd->footer(
      "Examples:\n"
      "  hwprune evaluate --model fmnist.hwp --data fashion-mnist\n"
      "  hwprune evaluate --model jet.hwp --data letter --json\n"
      "  hwprune evaluate --model m.hwp --data csv:new.csv,label=class --split all");
  return [a] { run_evaluate(*a); };
}

}  // namespace hwprune::cli
