// hwprune evaluate: accuracy/loss/per-class accuracy/confusion (or MSE) of a saved model.
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "common.hpp"
#include "hwprune/io/model_file.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::cli {

namespace {

struct EvaluateArgs {
  ModelArgs src;
  std::string data, test_data, split = "auto";
  double test_split = -1;
  uint64_t seed = 0;
  bool seed_given = false;
  int threads = 0;
  bool json = false;
};

void run_evaluate(EvaluateArgs& a) {
  Model model = load_model_arg(a.src).model;
  data::LoadOptions load;
  load.task = model.task;
  load.class_names = model.class_names;

  // Without a test part of its own, the data the model was trained on is split exactly as
  // `train` split it, so "test" means the same held-out rows.
  SplitOptions split{0.0, 1};
  const auto meta = [&](const char* key) {
    auto it = model.metadata.find(key);
    return it == model.metadata.end() ? std::string() : it->second;
  };
  const bool same_data = meta("train.data") == a.data;
  if (same_data && !meta("train.test_split").empty()) {
    split.test_split = std::stod(meta("train.test_split"));
    split.seed = std::stoull(meta("train.seed"));
  }
  if (a.test_split >= 0) split.test_split = a.test_split;
  if (a.seed_given) split.seed = a.seed;
  PreparedData d = prepare_data(a.data, a.test_data, split, load);

  const data::Dataset* chosen = nullptr;
  std::string what;
  if (a.split == "auto") {
    chosen = d.test ? &*d.test : &d.train;
    what = d.test ? fmt::format("test ({})", d.test_origin) : "all data";
  } else if (a.split == "test") {
    if (!d.test)
      throw Error(fmt::format("{}: has no test part (use --test-split or --test-data)", a.data));
    chosen = &*d.test;
    what = fmt::format("test ({})", d.test_origin);
  } else if (a.split == "train") {
    chosen = &d.train;
    what = "train";
  } else {
    throw Error(fmt::format("--split must be auto, test or train, got \"{}\"", a.split));
  }
  data::Dataset eval_set = *chosen;
  model.check_data(eval_set.sample_shape(), eval_set.num_outputs(), eval_set.source);
  model.standardisation.apply(eval_set.x);

  train::TrainConfig cfg;
  cfg.threads = resolve_threads(a.threads, model);
  train::Trainer trainer(model, cfg);
  const train::Metrics m = trainer.evaluate(eval_set);
  if (a.json) {
    nlohmann::json j{{"model", a.src.model},
                     {"data", a.data},
                     {"split", what},
                     {"metrics", metrics_json(m, model)}};
    write_output("-", j.dump(2) + "\n");
  } else {
    fmt::print("{}",
               format_metrics(m, model, fmt::format("{} on {} [{}]", a.src.model, a.data, what)));
  }
}

}  // namespace

std::function<void()> add_evaluate_command(CLI::App& app) {
  auto a = std::make_shared<EvaluateArgs>();
  CLI::App* cmd = app.add_subcommand("evaluate", "Evaluate a saved model on a dataset");
  cmd->add_option("--model", a->src.model,
                  "A model file: .hwp, .onnx, Keras .json/.h5 or an hls4ml .yml naming one")
      ->required();
  add_model_file_options(cmd, a->src);
  cmd->add_option("--data", a->data, "Dataset spec (as for train)")->required();
  cmd->add_option("--test-data", a->test_data, "A separate test set (spec as --data)");
  cmd->add_option("--split", a->split,
                  "auto (the test part if there is one, else all data), test or train")
      ->capture_default_str();
  cmd->add_option("--test-split", a->test_split,
                  "Held-out fraction when the data has no test part (default: as in training "
                  "when --data is the training data, else 0)");
  cmd->add_option("--seed", a->seed, "Seed of the held-out split (default: as in training)")
      ->each([a](const std::string&) { a->seed_given = true; });
  cmd->add_option("--threads", a->threads, "Torch threads (0 = auto)")->capture_default_str();
  cmd->add_flag("--json", a->json, "Print the metrics as JSON");
  cmd->footer(
      "Examples:\n"
      "  hwprune evaluate --model fmnist.hwp --data fashion-mnist\n"
      "  hwprune evaluate --model jet.hwp --data letter --json\n"
      "  hwprune evaluate --model m.hwp --data csv:new.csv,label=class --split train");
  return [a] { run_evaluate(*a); };
}

}  // namespace hwprune::cli
