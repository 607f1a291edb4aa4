// hwprune prune: hardware-aware pruning of a builtin or saved model (prune::prune), then
// zero-structure removal, test metrics and the before/after resource table.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.hpp"
#include "common.hpp"
#include "hwprune/hw/estimate.hpp"
#include "hwprune/io/model_file.hpp"
#include "hwprune/prune/pruner.hpp"
#include "hwprune/util/error.hpp"
#include "progress.hpp"

namespace hwprune::cli {

namespace {

struct PruneArgs {
  TrainingInputArgs in;
  HardwareArgs hw;
  std::string out, json_out, checkpoint, save_baseline;
  std::string objective = "dsp", scheduler = "polynomial", ranking = "l2", solver = "exact",
              metric = "auto", optimizer = "adam", schedule = "cosine",
              baseline_schedule = "cosine";
  prune::PruneConfig cfg;
  std::optional<double> rtol, alpha;
  int baseline_epochs = -1;  // -1: 20 for a builtin, 0 for a model file
  double baseline_lr = 1e-3;
  int threads = 0;
  bool no_reduce = false, keep_dead_biases = false, no_reg_fine_tune = false, quiet = false;
};

std::string pct(double v) {
  return fmt::format("{:.2f}%", 100.0 * v);
}

std::string metric_str(double v, const std::string& metric) {
  return metric == "accuracy" ? pct(v) : fmt::format("{:.5g}", v);
}

// Prints the step table as the run goes (stdout, or stderr when JSON owns stdout).
class TableObserver : public prune::PruneObserver {
 public:
  TableObserver(FILE* out, std::vector<std::string> dims, std::vector<double> baseline,
                std::string metric, bool classification, bool quiet)
      : out_(out),
        dims_(std::move(dims)),
        baseline_(std::move(baseline)),
        metric_(std::move(metric)),
        progress_(classification, quiet),
        quiet_(quiet) {}

  void message(const std::string& text) override { fmt::print(out_, "{}\n", text), flush(); }
  void search_row(const prune::SearchRow& r) override {
    if (!header_search_) {
      fmt::print(out_,
                 "regularisation strength search (score: validation {} within rtol, then "
                 "least group-norm mass dropped at the final sparsity):\n",
                 metric_);
      header_search_ = true;
    }
    fmt::print(out_, "  alpha {:<8g} val {} {:>8}  {}  mass dropped {:.2f}%\n", r.alpha, metric_,
               metric_str(r.metric, metric_), r.acceptable ? "ok     " : "too low",
               100 * r.lost_mass);
    flush();
  }
  void step_row(const prune::StepRow& r) override {
    if (!header_steps_) {
      std::string h = fmt::format("{:>4}  {:>7}", "step", "target");
      for (const auto& d : dims_) h += fmt::format("  {:>17}", d + " (of base)");
      h += fmt::format("  {:>9}  {:>7}  {}", "val " + short_metric(), "time", "result");
      fmt::print(out_, "{}\n", h);
      header_steps_ = true;
    }
    std::string line = fmt::format("{:>4}  {:>7.4f}", r.step, r.target);
    for (size_t k = 0; k < dims_.size(); ++k)
      line +=
          fmt::format("  {:>17}", fmt::format("{:g}/{:g}", std::round(r.resources[k] * 100) / 100,
                                              std::round(baseline_[k] * 100) / 100));
    line +=
        fmt::format("  {:>9}  {:>6.1f}s  {}", metric_str(r.metric, metric_), r.seconds, r.action);
    fmt::print(out_, "{}\n", line);
    flush();
  }
  train::ProgressSink* progress() override { return &progress_; }

 private:
  std::string short_metric() const { return metric_ == "accuracy" ? "acc" : metric_; }
  void flush() { std::fflush(out_); }
  FILE* out_;
  std::vector<std::string> dims_;
  std::vector<double> baseline_;
  std::string metric_;
  TerminalProgress progress_;
  bool quiet_;
  bool header_search_ = false, header_steps_ = false;
};

nlohmann::json layer_json(const hw::LayerEstimate& l) {
  nlohmann::json j = estimate_json(l);
  j.update({{"name", l.name}, {"reuse_factor", l.reuse_factor}, {"block_factor", l.block_factor}});
  return j;
}

std::string change(int64_t before, int64_t after) {
  if (before == after) return std::to_string(before);
  if (after == 0) return fmt::format("{} -> 0", before);
  return fmt::format("{} -> {} ({:.1f}x)", before, after,
                     static_cast<double>(before) / static_cast<double>(after));
}

// Per-layer estimate of the unpruned baseline and of the final model, side by side.
std::string resource_table(const hw::ModelEstimate& before, const hw::ModelEstimate& after) {
  std::vector<std::vector<std::string>> rows{
      {"layer", "RF", "DSP", "BRAM18", "multipliers", "non-zero params", "cycles"}};
  auto row = [&](const hw::LayerEstimate& b, const hw::LayerEstimate* a) {
    if (!a)
      return std::vector<std::string>{b.name, std::to_string(b.reuse_factor), "removed", "", "", "",
                                      ""};
    return std::vector<std::string>{b.name,
                                    b.reuse_factor == a->reuse_factor
                                        ? std::to_string(b.reuse_factor)
                                        : fmt::format("{}->{}", b.reuse_factor, a->reuse_factor),
                                    change(b.dsp, a->dsp),
                                    change(b.bram18, a->bram18),
                                    change(b.multipliers, a->multipliers),
                                    change(b.parameters, a->nonzero),
                                    change(b.latency, a->latency)};
  };
  for (const auto& b : before.layers) {
    const hw::LayerEstimate* a = nullptr;
    for (const auto& x : after.layers)
      if (x.name == b.name) a = &x;
    rows.push_back(row(b, a));
  }
  rows.push_back(row(before.total, &after.total));
  rows.back()[0] = "total";
  rows.back()[1] = "";
  return format_table(rows);
}

hw::ModelEstimate estimate_of(const Model& m, const hw::HardwareDefaults& d, const hw::Device& dev,
                              hw::BramModel bram, bool sparse) {
  Model f = fold_batchnorm(m);
  f.infer_shapes();
  return hw::estimate_model(f, hw::resolve_hardware(f, d, dev), {bram, sparse});
}

// Largest difference between the quantized outputs of two models on up to 512 samples.
double max_output_difference(const Model& a, const Model& b, const data::Dataset& d) {
  const int64_t n = std::min<int64_t>(d.size(), 512);
  Shape s = d.x.shape;
  s[0] = n;
  Tensor x(s);
  std::copy(d.x.data.begin(), d.x.data.begin() + static_cast<long>(x.data.size()), x.data.begin());
  const Tensor ya = reference_forward(a, x, true), yb = reference_forward(b, x, true);
  double m = 0;
  for (size_t i = 0; i < ya.data.size(); ++i)
    m = std::max(m, static_cast<double>(std::abs(ya.data[i] - yb.data[i])));
  return m;
}

void run_prune(PruneArgs& a) {
  const auto t_start = std::chrono::steady_clock::now();
  FILE* human = a.json_out == "-" ? stderr : stdout;
  prune::PruneConfig& cfg = a.cfg;
  cfg.objective = a.objective;
  cfg.objective_options.bram = hw::parse_bram_model(a.hw.bram);
  cfg.scheduler.kind = prune::parse_scheduler(a.scheduler);
  cfg.ranking = prune::parse_ranking(a.ranking);
  cfg.metric = prune::parse_metric(a.metric);
  if (a.solver != "exact" && a.solver != "greedy")
    throw Error(fmt::format("--solver must be exact or greedy, got \"{}\"", a.solver));
  cfg.greedy = a.solver == "greedy";
  cfg.train.optimizer = train::parse_optimizer(a.optimizer);
  cfg.train.schedule = train::parse_schedule(a.schedule);
  cfg.regularisation.alpha = a.alpha;
  cfg.regularisation.during_fine_tuning = !a.no_reg_fine_tune;
  cfg.zero_dead_channels = !a.keep_dead_biases;
  const hw::HardwareDefaults defaults = hardware_defaults(a.hw);
  const hw::Device device = hardware_device(a.hw);
  const auto probe_dir = std::filesystem::path(a.out).parent_path();
  if (!probe_dir.empty() && !std::filesystem::is_directory(probe_dir))
    throw Error(fmt::format("--out {}: directory {} does not exist", a.out, probe_dir.string()));

  TrainingInputs in = prepare_training(a.in, cfg.train.seed);
  Model& model = in.file.model;
  if (!in.val)
    throw Error("pruning needs validation data to accept or reject steps (use --val-split > 0)");
  cfg.train.threads = resolve_threads(a.threads, model);
  const bool classification = model.task == data::Task::Classification;
  if (!a.rtol)
    a.rtol = (cfg.metric == prune::Metric::Auto ? classification : prune::is_increasing(cfg.metric))
                 ? 0.99
                 : 1.02;
  cfg.rtol = *a.rtol;
  const prune::Metric metric = prune::validate(cfg, model.task);  // before any training
  {
    // An invalid reuse factor is an error before the baseline is trained.
    Model folded = fold_batchnorm(model);
    folded.infer_shapes();
    (void)hw::resolve_hardware(folded, defaults, device);
  }
  if (a.checkpoint.empty()) a.checkpoint = a.out + ".ckpt";
  cfg.checkpoint = a.checkpoint;

  // Baseline: a builtin is trained first (quantization-aware); a file is taken as trained.
  const int baseline_epochs = a.baseline_epochs >= 0 ? a.baseline_epochs : (in.builtin ? 20 : 0);
  const std::string baseline_ckpt = a.checkpoint + ".baseline";
  if (baseline_epochs > 0) {
    if (cfg.resume && std::filesystem::exists(baseline_ckpt)) {
      model = io::load_model(baseline_ckpt);
      fmt::print(human, "baseline: {} (from an interrupted run)\n", baseline_ckpt);
    } else {
      train::TrainConfig tc = cfg.train;
      tc.epochs = baseline_epochs;
      tc.lr = a.baseline_lr;
      tc.schedule = train::parse_schedule(a.baseline_schedule);
      if (!a.quiet)
        fmt::print(human, "baseline: quantization-aware training, {} epochs ({} lr {:g})\n",
                   baseline_epochs, a.baseline_schedule, tc.lr);
      std::fflush(human);
      train::Trainer t(model, tc);
      TerminalProgress progress(classification, a.quiet);
      t.fit(in.train, nullptr, &progress);
      io::save_model(baseline_ckpt, model);
    }
  }
  const Model baseline = model;
  if (!a.save_baseline.empty()) io::save_model(a.save_baseline, baseline);

  const hw::BramModel bram = cfg.objective_options.bram;
  {
    const auto e = estimate_of(baseline, defaults, device, bram, false);
    fmt::print(human,
               "pruning '{}' for {} (objective {}, {} scheduler to sparsity {:g}, rtol {:g}, "
               "ranking {}, {} knapsack{}): unpruned DSP {}, BRAM18 {}\n",
               model.name, device.family, cfg.objective, a.scheduler, cfg.scheduler.final_sparsity,
               cfg.rtol, a.ranking, cfg.local ? "local" : "global", cfg.greedy ? " greedy" : "",
               e.total.dsp, e.total.bram18);
    std::fflush(human);
  }
  auto objective = hw::make_objective(cfg.objective, cfg.objective_options);
  TableObserver obs(human, objective->dimensions(),
                    prune::resources_of(baseline, *objective, defaults, device, false),
                    std::string(prune::to_string(metric)), classification, a.quiet);
  const prune::PruneResult r =
      prune::prune(baseline, defaults, device, in.train, *in.val, cfg, &obs);

  // Zero-structure removal, checked on data: the outputs must not change.
  Model final_model = r.model;
  structures::ReduceReport report;
  if (!a.no_reduce) {
    final_model = prune::reduce_for_hardware(r.model, *objective, defaults, device, &report);
    const data::Dataset& probe = in.data.test ? *in.data.test : *in.val;
    const double diff = max_output_difference(r.model, final_model, probe);
    if (diff != 0.0)
      throw Error(
          fmt::format("internal error: zero-structure removal changed the outputs by {} "
                      "(nothing was written)",
                      diff));
    for (const auto& c : report.changes)
      fmt::print(human, "removed {} of {} outputs of {} (and the inputs of {})\n",
                 c.before - c.after, c.before, c.layer, c.consumer.empty() ? "-" : c.consumer);
    if (report.refused > 0)
      fmt::print(human,
                 "kept {} removable channels: removing them would invalidate a reuse factor or "
                 "shift the weight-to-multiplier map and cost more\n",
                 report.refused);
  }

  nlohmann::json result;
  std::string summary;
  if (in.data.test) {
    train::TrainConfig tc = cfg.train;
    Model b = baseline, f = final_model;
    train::Trainer tb(b, tc), tf(f, tc);
    const train::Metrics mb = tb.evaluate(*in.data.test), mf = tf.evaluate(*in.data.test);
    result["test"] = {{"origin", in.data.test_origin},
                      {"baseline", metrics_json(mb, baseline)},
                      {"pruned", metrics_json(mf, final_model)}};
    summary =
        classification
            ? fmt::format("test accuracy: unpruned {}, pruned {} ({:+.2f} pp; {} samples, {})\n",
                          pct(mb.accuracy), pct(mf.accuracy), 100 * (mf.accuracy - mb.accuracy),
                          mf.samples, in.data.test_origin)
            : fmt::format("test mse: unpruned {:.6g}, pruned {:.6g} ({} samples, {})\n", mb.mse,
                          mf.mse, mf.samples, in.data.test_origin);
    final_model.metadata["prune.test_metric"] =
        fmt::format("{:.6f}", classification ? mf.accuracy : mf.mse);
  }

  const auto eb = estimate_of(baseline, defaults, device, bram, false);
  const auto ef = estimate_of(final_model, defaults, device, bram, true);
  final_model.metadata["prune.objective"] = cfg.objective;
  final_model.metadata["prune.sparsity"] = fmt::format("{:.6f}", r.final_sparsity);
  final_model.metadata["prune.reuse_factor"] = std::to_string(a.hw.rf);
  final_model.metadata["prune.seed"] = std::to_string(cfg.train.seed);
  io::save_model(a.out, final_model);
  std::error_code ec;
  std::filesystem::remove(a.checkpoint, ec);
  std::filesystem::remove(baseline_ckpt, ec);

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  fmt::print(human, "\n{}\n{}",
             r.any_accepted ? fmt::format("accepted sparsity {:.4f} (val {} {}, unpruned {})",
                                          r.final_sparsity, r.metric_name,
                                          metric_str(r.final_metric, r.metric_name),
                                          metric_str(r.baseline_metric, r.metric_name))
                            : "no pruning step passed the tolerance: the model is unpruned",
             resource_table(eb, ef));
  fmt::print(human, "{}saved {} ({:.1f} s)\n", summary, a.out, seconds);

  if (!a.json_out.empty()) {
    nlohmann::json rows = nlohmann::json::array(), search = nlohmann::json::array(),
                   before = nlohmann::json::array(), after = nlohmann::json::array();
    for (const auto& s : r.rows) {
      nlohmann::json res;
      for (size_t k = 0; k < r.dimensions.size(); ++k)
        res[r.dimensions[k]] = {{"before", r.baseline_resources[k]}, {"after", s.resources[k]}};
      rows.push_back({{"step", s.step},
                      {"target_sparsity", s.target},
                      {"resources", res},
                      {"val_" + r.metric_name, s.metric},
                      {"accepted", s.accepted},
                      {"action", s.action},
                      {"seconds", s.seconds}});
    }
    for (const auto& s : r.search)
      search.push_back({{"alpha", s.alpha},
                        {"val_" + r.metric_name, s.metric},
                        {"acceptable", s.acceptable},
                        {"mass_dropped", s.lost_mass}});
    for (const auto& l : eb.layers) before.push_back(layer_json(l));
    for (const auto& l : ef.layers) after.push_back(layer_json(l));
    nlohmann::json removed = nlohmann::json::array();
    for (const auto& c : report.changes)
      removed.push_back({{"layer", c.layer},
                         {"consumer", c.consumer},
                         {"before", c.before},
                         {"after", c.after},
                         {"removed", c.removed}});
    result.update({{"model", a.out},
                   {"objective", cfg.objective},
                   {"dimensions", r.dimensions},
                   {"metric", r.metric_name},
                   {"baseline_val", r.baseline_metric},
                   {"final_val", r.final_metric},
                   {"final_sparsity", r.final_sparsity},
                   {"any_accepted", r.any_accepted},
                   {"alpha", r.alpha},
                   {"resumed", r.resumed},
                   {"search", search},
                   {"steps", rows},
                   {"layers", {{"baseline", before}, {"final", after}}},
                   {"total", {{"baseline", layer_json(eb.total)}, {"final", layer_json(ef.total)}}},
                   {"removed", removed},
                   {"refused_removals", report.refused},
                   {"wall_seconds", seconds},
                   {"threads", cfg.train.threads}});
    write_output(a.json_out, result.dump(2) + "\n");
  }
}

}  // namespace

std::function<void()> add_prune_command(CLI::App& app) {
  auto a = std::make_shared<PruneArgs>();
  auto& c = a->cfg;
  CLI::App* cmd = app.add_subcommand(
      "prune",
      "Hardware-aware pruning: remove the DSPs/BRAM the objective counts, within a "
      "relative accuracy tolerance");
  cmd->add_option("--model", a->in.src.model,
                  "A builtin (trained first, see --baseline-epochs) or a trained model file "
                  "(.hwp, .onnx, Keras .json/.h5, hls4ml .yml)")
      ->required();
  add_model_file_options(cmd, a->in.src);
  cmd->add_option("--data", a->in.data, "Dataset spec (as for train)")->required();
  cmd->add_option("--out", a->out, "Where to write the pruned model (.hwp)")->required();
  cmd->add_option("--objective", a->objective,
                  "What to remove: params, dsp, dsp-bram, ff, flops or latency")
      ->capture_default_str();
  add_hardware_options(cmd, a->hw);
  cmd->add_option("--scheduler", a->scheduler, "constant, polynomial or binary")
      ->capture_default_str();
  cmd->add_option("--initial-sparsity", c.scheduler.initial_sparsity, "Sparsity to start from")
      ->capture_default_str();
  cmd->add_option("--final-sparsity", c.scheduler.final_sparsity,
                  "Highest sparsity to try (share of every objective dimension removed)")
      ->capture_default_str();
  cmd->add_option("--step", c.scheduler.step, "Constant scheduler: sparsity added per step")
      ->capture_default_str();
  cmd->add_option("--steps", c.scheduler.steps, "Polynomial scheduler: number of steps")
      ->capture_default_str();
  cmd->add_option("--min-step", c.scheduler.min_step,
                  "Smallest sparsity increment worth a step (repairs stop below it)")
      ->capture_default_str();
  cmd->add_option("--rtol", a->rtol,
                  "Accept a step when val metric >= rtol * unpruned (accuracy; default 0.99) or "
                  "<= rtol * unpruned (loss, mse; default 1.02)");
  cmd->add_option("--metric", a->metric, "Validation metric: auto, accuracy, loss or mse")
      ->capture_default_str();
  cmd->add_option("--epochs-per-step", c.epochs_per_step, "Masked fine-tuning epochs per step")
      ->capture_default_str();
  cmd->add_option("--rewind-epochs", c.rewind_epochs,
                  "Unmasked epochs before each ranking (pruned weights may regrow)")
      ->capture_default_str();
  cmd->add_option("--final-epochs", c.final_epochs,
                  "Masked fine-tuning epochs for the result after the last step (kept if the "
                  "validation metric does not get worse)")
      ->capture_default_str();
  cmd->add_option("--max-bad-trials", c.max_bad_trials, "Stop after this many rejected steps")
      ->capture_default_str();
  cmd->add_option("--ranking", a->ranking, "Group importance: l1, l2, oracle or saliency")
      ->capture_default_str();
  cmd->add_option("--score-samples", c.score_samples, "Samples for oracle/saliency scores")
      ->capture_default_str();
  cmd->add_flag("--local", c.local, "One knapsack per layer instead of one over all layers");
  cmd->add_option("--solver", a->solver, "Knapsack solver: exact or greedy")->capture_default_str();
  cmd->add_option("--solver-time-limit", c.solver_time_limit, "Seconds per knapsack (exact)")
      ->capture_default_str();
  cmd->add_option("--alpha", a->alpha,
                  "Group-lasso strength (default: chosen by a search when --reg-epochs > 0)");
  cmd->add_option("--alpha-candidates", c.regularisation.candidates, "Strengths the search tries")
      ->capture_default_str();
  cmd->add_option("--search-epochs", c.regularisation.search_epochs,
                  "Training epochs per searched strength")
      ->capture_default_str();
  cmd->add_option("--beta", c.regularisation.beta,
                  "Group-variance (weight-sharing) strength; > 0 ties near-constant groups")
      ->capture_default_str();
  cmd->add_option("--reg-epochs", c.regularisation.epochs,
                  "Group-regularised training epochs before the first step")
      ->capture_default_str();
  cmd->add_flag("--no-reg-fine-tune", a->no_reg_fine_tune,
                "Fine-tune without the group regulariser");
  cmd->add_flag("--keep-dead-biases", a->keep_dead_biases,
                "Let a neuron/filter whose weights are all pruned keep its bias (it then cannot "
                "be removed)");
  cmd->add_flag("--no-reduce", a->no_reduce, "Keep all-zero neurons/filters in the saved model");
  cmd->add_option("--baseline-epochs", a->baseline_epochs,
                  "QAT epochs before pruning (default 20 for a builtin, 0 for a model file)");
  cmd->add_option("--baseline-lr", a->baseline_lr, "Learning rate of the baseline training")
      ->capture_default_str();
  cmd->add_option("--baseline-schedule", a->baseline_schedule,
                  "Baseline learning-rate schedule: constant, step or cosine")
      ->capture_default_str();
  cmd->add_option("--save-baseline", a->save_baseline, "Also save the trained unpruned model");
  cmd->add_option("--lr", c.train.lr, "Fine-tuning learning rate")->capture_default_str();
  cmd->add_option("--schedule", a->schedule,
                  "Fine-tuning learning-rate schedule within each step (cosine decays to 0)")
      ->capture_default_str();
  cmd->add_option("--batch-size", c.train.batch_size, "Mini-batch size")->capture_default_str();
  cmd->add_option("--optimizer", a->optimizer, "adam or sgd")->capture_default_str();
  cmd->add_option("--precision", a->in.precision,
                  "Fixed-point type for every precision (builtin default ap_fixed<16,6>)");
  cmd->add_option("--test-data", a->in.test_data, "A separate test set (spec as --data)");
  cmd->add_option("--test-split", a->in.test_split,
                  "Held-out test fraction when the data has no test part of its own")
      ->capture_default_str();
  cmd->add_option("--val-split", a->in.val_split,
                  "Validation fraction of the training part (decides acceptance)")
      ->capture_default_str();
  cmd->add_option("--task", a->in.task, "classification or regression (default: from the data)");
  cmd->add_option("--seed", c.train.seed, "Seed of the whole run")->capture_default_str();
  cmd->add_option("--threads", a->threads, "Torch threads (0 = all cores for CNNs, 1 for MLPs)")
      ->capture_default_str();
  cmd->add_option("--checkpoint", a->checkpoint,
                  "Checkpoint written after every step (default <out>.ckpt)");
  cmd->add_flag("--resume", c.resume, "Continue an interrupted run from its checkpoint");
  cmd->add_option("--json", a->json_out,
                  "Write the step table and resources as JSON ('-': stdout)");
  cmd->add_flag("--quiet", a->quiet, "No training progress");
  cmd->footer(
      "Examples:\n"
      "  hwprune prune --model jet-mlp --data letter --rf 2 --objective dsp --out jet_pruned.hwp\n"
      "  hwprune prune --model fmnist.hwp --data fashion-mnist --rf 2 --final-sparsity 0.8 "
      "--out f.hwp\n"
      "  hwprune prune --model jet.hwp --data letter --rf 4 --objective dsp-bram "
      "--scheduler binary --json res.json --out j.hwp\n"
      "  hwprune prune --model jet.json --hls-config jet.yml --data csv:jets.csv,label=class "
      "--resume --out j.hwp");
  return [a] { run_prune(*a); };
}

}  // namespace hwprune::cli
