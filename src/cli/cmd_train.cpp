// hwprune train: quantization-aware training of a builtin or saved model.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.hpp"
#include "common.hpp"
#include "hwprune/data/predict.hpp"
#include "hwprune/io/model_file.hpp"
#include "hwprune/train/trainer.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"
#include "progress.hpp"

namespace hwprune::cli {

namespace {

struct TrainArgs {
  TrainingArgs data;
  data::ModelSource source;
  HardwareArgs hw;
  std::string out, json_out;
  std::string optimizer = "adam", schedule = "constant", gradient = "ste";
  train::TrainConfig cfg;
  int threads = 0;
  bool save_optimizer = false, quiet = false, fit_integer_bits = false;
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
  FILE* human = human_stream(a.json_out);
  a.cfg.optimizer = train::parse_optimizer(a.optimizer);
  a.cfg.schedule = train::parse_schedule(a.schedule);
  a.cfg.gradient_rule = train::parse_gradient_rule(a.gradient);
  const hw::HardwareSpec hardware = hardware_spec(a.hw);
  declare_output(a.out, "--out");

  data::TrainingSpec spec = training_spec(a.data, a.cfg.seed);
  spec.source = a.source;
  data::TrainingInputs in = data::prepare_training(spec);
  Model& model = in.file.model;
  // Hardware options: checked before training, recorded in the model file after it.
  std::optional<hw::MappedModel> mapped;
  if (a.hw.given()) {
    mapped = hw::map_model(model, hardware);
    print_notes(human, mapped->hardware.adjustments);
  }
  a.cfg.threads = a.threads > 0 ? a.threads : train::auto_threads(model);

  if (!a.quiet) {
    fmt::print(human, "{}", describe_model(model));
    fmt::print(human, "data: {} training, {} validation, {} test samples ({})\n", in.train.size(),
               in.val ? in.val->size() : 0, in.test ? in.test->size() : 0,
               in.test ? in.test_origin : "no test part");
    fmt::print(human,
               "training: {} epochs, batch {}, {} lr {:g} ({}), gradient rule {}, {} thread{}\n",
               a.cfg.epochs, a.cfg.batch_size, a.optimizer, a.cfg.lr, a.schedule, a.gradient,
               a.cfg.threads, a.cfg.threads == 1 ? "" : "s");
    std::fflush(human);
  }
  train::Trainer trainer(model, a.cfg);
  if (!in.builtin && in.file.optimizer_state && in.file.optimizer_kind == a.optimizer)
    trainer.load_optimizer_state(*in.file.optimizer_state);
  TerminalProgress progress(model.task == Task::Classification, a.quiet);
  const auto history = trainer.fit(in.train, in.val ? &*in.val : nullptr, &progress);
  const double train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  // Training changes weights, not what the hardware resolves to: record the mapping checked above.
  if (mapped) hw::record_hardware(model, mapped->hardware, hardware.defaults);
  if (a.fit_integer_bits)  // the ranges the trained network reaches on its training rows
    for (const auto& line : train::fit_result_ranges(model, in.train, a.cfg))
      fmt::print(human, "fit integer bits: {}\n", line);

  nlohmann::json result{{"model", a.out},
                        {"epochs_run", history.size()},
                        {"wall_seconds", train_seconds},
                        {"threads", a.cfg.threads}};
  nlohmann::json hist = nlohmann::json::array();
  auto nan_null = [](double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); };
  for (const auto& h : history)
    hist.push_back({{"epoch", h.epoch},
                    {"lr", h.lr},
                    {"train_loss", h.train_loss},
                    {"train_metric", h.train_metric},
                    {"val_loss", nan_null(h.val_loss)},
                    {"val_metric", nan_null(h.val_metric)},
                    {"seconds", h.seconds}});
  result["history"] = hist;
  std::string summary;
  if (in.test) {
    const data::Metrics m = data::evaluate(model, *in.test);
    result["test"] = data::to_json(m, model);
    result["test"]["origin"] = in.test_origin;
    const bool cls = model.task == Task::Classification;
    model.metadata[cls ? "train.test_accuracy" : "train.test_mse"] =
        fmt::format("{:.6f}", cls ? m.accuracy : m.mse);
    summary = cls ? fmt::format("test accuracy: {:.2f}% ({} samples, {})\n", 100 * m.accuracy,
                                m.samples, in.test_origin)
                  : fmt::format("test mse: {:.6g}, mae {:.6g} ({} samples, {})\n", m.mse, m.mae,
                                m.samples, in.test_origin);
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
  cmd->add_option("--model", a->source.model,
                  fmt::format("A builtin ({}, mlp:<hidden sizes>; input shape and classes from the "
                              "data) or a model file to train further (.hwp, .onnx, Keras "
                              ".json/.h5, hls4ml .yml)",
                              kBuiltinNames.list(", ")))
      ->required();
  add_model_file_options(cmd, a->source);
  add_training_data_options(cmd, a->data);
  cmd->add_option("--out", a->out, "Where to write the trained model (.hwp)")->required();
  add_hardware_options(cmd, a->hw);
  cmd->add_option("--epochs", a->cfg.epochs, "Training epochs")->capture_default_str();
  cmd->add_option("--batch-size", a->cfg.batch_size, "Mini-batch size")->capture_default_str();
  cmd->add_option("--lr", a->cfg.lr, "Learning rate")->capture_default_str();
  cmd->add_option("--optimizer", a->optimizer, train::kOptimizerNames.list(" or "))
      ->capture_default_str();
  cmd->add_option("--momentum", a->cfg.momentum, "SGD momentum")->capture_default_str();
  cmd->add_option("--weight-decay", a->cfg.weight_decay, "L2 weight decay")->capture_default_str();
  cmd->add_option("--schedule", a->schedule,
                  fmt::format("Learning-rate schedule: {}", train::kLrScheduleNames.list(", ")))
      ->capture_default_str();
  cmd->add_option("--lr-step", a->cfg.lr_step_epochs, "Step schedule: epochs per step")
      ->capture_default_str();
  cmd->add_option("--lr-gamma", a->cfg.lr_gamma, "Step schedule: factor per step")
      ->capture_default_str();
  cmd->add_option("--early-stopping", a->cfg.early_stopping_patience,
                  "Stop after N epochs without a better validation loss (0 = off)")
      ->capture_default_str();
  cmd->add_option(
         "--gradient", a->gradient,
         fmt::format("Quantizer gradient:\n{}", train::kGradientRuleNames.help_lines("    ")))
      ->capture_default_str();
  cmd->add_option("--overflow-penalty", a->cfg.overflow_penalty,
                  "Weight of the loss term that keeps results inside wrapping (AP_WRAP) types' "
                  "range (0 = off)")
      ->capture_default_str();
  cmd->add_option("--seed", a->cfg.seed, "Seed for initialisation, splits and shuffling")
      ->capture_default_str();
  cmd->add_option("--threads", a->threads, "Torch threads (0 = all cores for CNNs, 1 for MLPs)")
      ->capture_default_str();
  cmd->add_flag("--fit-integer-bits", a->fit_integer_bits,
                "After training, where results wrap around on the training rows, give the result "
                "(and accumulator) type the integer bits the observed range needs");
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
      "  hwprune train --model mlp:64,32 --data csv:table.csv,label=class --rf 4 --out m.hwp\n"
      "  hwprune train --model fmnist.hwp --data fashion-mnist --epochs 2 --lr 1e-4 --out ft.hwp");
  return [a] { run_train(*a); };
}

}  // namespace hwprune::cli
