// hwprune train: quantization-aware training of a builtin or saved model.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.hpp"
#include "common.hpp"
#include "hwprune/io/model_file.hpp"
#include "hwprune/util/error.hpp"
#include "progress.hpp"

namespace hwprune::cli {

namespace {

struct TrainArgs {
  TrainingInputArgs in;
  std::string out, json_out;
  std::string optimizer = "adam", schedule = "constant", gradient = "ste";
  train::TrainConfig cfg;
  int threads = 0;
  bool save_optimizer = false, quiet = false;
};

std::string describe_model(const Model& m) {
  std::string s = fmt::format("model '{}': input {}, {} parameters\n", m.name,
                              shape_str(m.input_shape), m.parameter_count());
  for (const auto& l : m.layers) {
    std::string prec;
    if (l.has_kernel())
      prec = fmt::format("weight {}  result {}", precision_str(l.precision.weight),
                         precision_str(l.precision.result));
    else if (l.kind == LayerKind::Activation && l.activation != ActivationKind::Softmax)
      prec = fmt::format("result {}", precision_str(l.precision.result));
    s += fmt::format("  {:<12} {:<18} {:<14} {:>7}  {}\n", l.name,
                     l.kind == LayerKind::Activation ? std::string(to_string(l.activation))
                                                     : std::string(to_string(l.kind)),
                     shape_str(l.output_shape), l.parameter_count(), prec);
  }
  return s;
}

void run_train(TrainArgs& a) {
  const auto t_start = std::chrono::steady_clock::now();
  // With --json - the JSON owns stdout; the human-readable report goes to stderr.
  FILE* human = a.json_out == "-" ? stderr : stdout;
  a.cfg.optimizer = train::parse_optimizer(a.optimizer);
  a.cfg.schedule = train::parse_schedule(a.schedule);
  a.cfg.gradient_rule = train::parse_gradient_rule(a.gradient);

  TrainingInputs in = prepare_training(a.in, a.cfg.seed);
  Model& model = in.file.model;
  const bool builtin = in.builtin;
  data::Dataset& train_part = in.train;
  std::optional<data::Dataset>& val = in.val;
  PreparedData& d = in.data;
  a.cfg.threads = resolve_threads(a.threads, model);

  if (!a.quiet) {
    fmt::print(human, "{}", describe_model(model));
    fmt::print(human, "data: {} training, {} validation, {} test samples ({})\n", train_part.size(),
               val ? val->size() : 0, d.test ? d.test->size() : 0,
               d.test ? d.test_origin : "no test part");
    fmt::print(human,
               "training: {} epochs, batch {}, {} lr {:g} ({}), gradient rule {}, {} thread{}\n",
               a.cfg.epochs, a.cfg.batch_size, a.optimizer, a.cfg.lr, a.schedule, a.gradient,
               a.cfg.threads, a.cfg.threads == 1 ? "" : "s");
    std::fflush(human);
  }
  train::Trainer trainer(model, a.cfg);
  if (!builtin && in.file.optimizer_state && in.file.optimizer_kind == a.optimizer)
    trainer.load_optimizer_state(*in.file.optimizer_state);
  TerminalProgress progress(model.task == data::Task::Classification, a.quiet);
  const auto history = trainer.fit(train_part, val ? &*val : nullptr, &progress);
  const double train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();

  nlohmann::json result{{"model", a.out},
                        {"epochs_run", history.size()},
                        {"wall_seconds", train_seconds},
                        {"threads", a.cfg.threads}};
  nlohmann::json hist = nlohmann::json::array();
  for (const auto& h : history)
    hist.push_back(
        {{"epoch", h.epoch},
         {"lr", h.lr},
         {"train_loss", h.train_loss},
         {"train_metric", h.train_metric},
         {"val_loss", std::isnan(h.val_loss) ? nlohmann::json() : nlohmann::json(h.val_loss)},
         {"val_metric", std::isnan(h.val_metric) ? nlohmann::json() : nlohmann::json(h.val_metric)},
         {"seconds", h.seconds}});
  result["history"] = hist;
  std::string summary;
  if (d.test) {
    const train::Metrics m = trainer.evaluate(*d.test);
    result["test"] = metrics_json(m, model);
    result["test"]["origin"] = d.test_origin;
    const std::string key = model.task == data::Task::Classification ? "accuracy" : "mse";
    const double v = model.task == data::Task::Classification ? m.accuracy : m.mse;
    model.metadata["train.test_" + key] = fmt::format("{:.6f}", v);
    summary = model.task == data::Task::Classification
                  ? fmt::format("test accuracy: {:.2f}% ({} samples, {})\n", 100 * m.accuracy,
                                m.samples, d.test_origin)
                  : fmt::format("test mse: {:.6g}, mae {:.6g} ({} samples, {})\n", m.mse, m.mae,
                                m.samples, d.test_origin);
    summary += format_overflows(m, model);
  }
  io::ModelFile out{model, std::nullopt, {}};
  if (a.save_optimizer) {
    out.optimizer_state = trainer.optimizer_state();
    out.optimizer_kind = a.optimizer;
  }
  io::save_model_file(a.out, out);
  fmt::print(human, "{}saved {} ({} epochs, {:.1f} s)\n", summary, a.out, history.size(),
             train_seconds);
  if (!a.json_out.empty()) write_output(a.json_out, result.dump(2) + "\n");
}

}  // namespace

std::function<void()> add_train_command(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train a model (quantization-aware) on a dataset");
  cmd->add_option("--model", a->in.src.model,
                  "A builtin (jet-mlp, fmnist-cnn, svhn-cnn) or a model file to train further "
                  "(.hwp, .onnx, Keras .json/.h5, hls4ml .yml)")
      ->required();
  add_model_file_options(cmd, a->in.src);
  cmd->add_option("--data", a->in.data,
                  "Dataset spec: fashion-mnist, letter, csv:<file>[,label=..], npy:<X>,labels=<y>, "
                  "npz:<file>, or a .csv/.npz path")
      ->required();
  cmd->add_option("--out", a->out, "Where to write the trained model (.hwp)")->required();
  cmd->add_option("--test-data", a->in.test_data, "A separate test set (spec as --data)");
  cmd->add_option("--test-split", a->in.test_split,
                  "Held-out test fraction when the data has no test part of its own")
      ->capture_default_str();
  cmd->add_option("--val-split", a->in.val_split, "Validation fraction of the training part")
      ->capture_default_str();
  cmd->add_option("--epochs", a->cfg.epochs, "Training epochs")->capture_default_str();
  cmd->add_option("--batch-size", a->cfg.batch_size, "Mini-batch size")->capture_default_str();
  cmd->add_option("--lr", a->cfg.lr, "Learning rate")->capture_default_str();
  cmd->add_option("--optimizer", a->optimizer, "adam or sgd")->capture_default_str();
  cmd->add_option("--momentum", a->cfg.momentum, "SGD momentum")->capture_default_str();
  cmd->add_option("--weight-decay", a->cfg.weight_decay, "L2 weight decay")->capture_default_str();
  cmd->add_option("--schedule", a->schedule, "Learning-rate schedule: constant, step, cosine")
      ->capture_default_str();
  cmd->add_option("--lr-step", a->cfg.lr_step_epochs, "Step schedule: epochs per step")
      ->capture_default_str();
  cmd->add_option("--lr-gamma", a->cfg.lr_gamma, "Step schedule: factor per step")
      ->capture_default_str();
  cmd->add_option("--early-stopping", a->cfg.early_stopping_patience,
                  "Stop after N epochs without a better validation loss (0 = off)")
      ->capture_default_str();
  cmd->add_option("--precision", a->in.precision,
                  "Fixed-point type for weights, biases, accumulators and results, e.g. "
                  "'ap_fixed<16,6>' (builtin default), or 'float'");
  cmd->add_option("--gradient", a->gradient,
                  "Quantizer gradient: ste (identity) or clipped (zero outside the type's range)")
      ->capture_default_str();
  cmd->add_option("--overflow-penalty", a->cfg.overflow_penalty,
                  "Weight of the loss term that keeps results inside wrapping (AP_WRAP) types' "
                  "range (0 = off)")
      ->capture_default_str();
  cmd->add_option("--task", a->in.task, "classification or regression (default: from the data)");
  cmd->add_option("--seed", a->cfg.seed, "Seed for initialisation, splits and shuffling")
      ->capture_default_str();
  cmd->add_option("--threads", a->threads, "Torch threads (0 = all cores for CNNs, 1 for MLPs)")
      ->capture_default_str();
  cmd->add_flag("--save-optimizer", a->save_optimizer,
                "Store the optimizer state in the model file (training resumes from it)");
  cmd->add_option("--json", a->json_out,
                  "Write the training history and test metrics as JSON "
                  "('-' for stdout)");
  cmd->add_flag("--quiet", a->quiet, "Only print the result");
  cmd->footer(
      "Examples:\n"
      "  hwprune train --model fmnist-cnn --data fashion-mnist --epochs 12 --out fmnist.hwp\n"
      "  hwprune train --model jet-mlp --data letter --epochs 60 --schedule cosine --out jet.hwp\n"
      "  hwprune train --model jet-mlp --data csv:jets.csv,label=class --precision 'ap_fixed<8,3>' "
      "--out jet8.hwp\n"
      "  hwprune train --model fmnist.hwp --data fashion-mnist --epochs 2 --lr 1e-4 --out ft.hwp");
  return [a] { run_train(*a); };
}

}  // namespace hwprune::cli
