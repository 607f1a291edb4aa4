// Pruning-speed benchmark: one hardware-aware pruning run of the jet-mlp shape
// (16-64-32-32-5, ap_fixed<16,6> quantization-aware training) on seeded synthetic rows, by
// hwprune's pipeline (hwprune::prune::run_pipeline, in process) and by the same loop in Debian's
// python3-torch (bench/prune_peer.py), from the same start model and data. The run: objective
// dsp, every layer at reuse factor --rf (Resource), L2 ranking, constant scheduler
// --step .. --final, a fixed group-lasso strength --alpha during fine-tuning (no
// regularisation epochs), --epochs-per-step masked fine-tuning epochs per step, fresh Adam
// per step, dead neurons' biases held at 0. Prints each step of both, their wall times, the
// ratio and the BLAS library each process has loaded.
//
//   build/bench/prune_bench [--rows 100000] [--val-rows 20000] [--batch-size 256]
//                           [--epochs-per-step 2] [--alpha 1e-4] [--rf 2] [--threads 1]
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "bench_util.hpp"
#include "hwprune/io/npy.hpp"
#include "hwprune/io/zip.hpp"
#include "hwprune/prune/pipeline.hpp"
#include "hwprune/train/trainer.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

using namespace hwprune;

namespace {

Tensor labels_tensor(const data::Dataset& d) {
  Tensor y({d.size()});
  for (int64_t i = 0; i < d.size(); ++i) y.data[i] = static_cast<float>(d.labels[i]);
  return y;
}

// One step as printed by the peer: "step <k> <target> <dsp> <acc> <accepted> <seconds>".
struct PeerStep {
  int step = 0;
  double target = 0, dsp = 0, metric = 0, seconds = 0;
  bool accepted = false;
};

struct PeerRun {
  double baseline_metric = -1, baseline_dsp = 0, wall = -1;
  std::vector<PeerStep> steps;
  std::string blas;
};

PeerRun parse_peer(const std::string& out) {
  PeerRun r;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream is(line);
    std::string key;
    is >> key;
    if (key == "baseline") {
      is >> r.baseline_metric >> r.baseline_dsp;
    } else if (key == "step") {
      PeerStep s;
      int ok = 0;
      is >> s.step >> s.target >> s.dsp >> s.metric >> ok >> s.seconds;
      s.accepted = ok != 0;
      if (is) r.steps.push_back(s);
    } else if (key == "wall_seconds") {
      is >> r.wall;
    } else if (key == "blas") {
      r.blas = line.substr(5);
    }
  }
  if (r.wall < 0 || r.baseline_metric < 0)
    throw hwprune::Error("peer printed no baseline/wall_seconds:\n" + out);
  return r;
}

// Prints hwprune's steps as they finish (the run takes minutes).
class Progress : public prune::PipelineObserver {
 public:
  void message(const std::string& text) override { fmt::print(stderr, "hwprune: {}\n", text); }
  void step_row(const prune::StepRow& r) override {
    fmt::print(stderr, "hwprune: step {} target {:.2f} DSP {:g} val acc {:.4f} {} ({:.1f} s)\n",
               r.step, r.target, r.resources.empty() ? 0.0 : r.resources[0], r.metric, r.action,
               r.seconds);
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hwprune pruning benchmark against python3-torch"};
  int64_t rows = 100000, val_rows = 20000, batch = 256, rf = 2;
  int threads = 1, epochs_per_step = 2, pretrain_epochs = 2;
  double alpha = 1e-4, step = 0.2, final_sparsity = 0.8, rtol = 0.01, lr = 1e-3;
  bool zero_dead = true;
  uint64_t seed = 1;
  std::string python = "/usr/bin/python3";
  app.add_option("--rows", rows, "Training rows")->capture_default_str();
  app.add_option("--val-rows", val_rows, "Validation rows")->capture_default_str();
  app.add_option("--batch-size", batch)->capture_default_str();
  app.add_option("--lr", lr, "Adam learning rate")->capture_default_str();
  app.add_option("--threads", threads)->capture_default_str();
  app.add_option("--rf", rf, "Reuse factor of every layer (Resource strategy)")
      ->capture_default_str();
  app.add_option("--alpha", alpha, "Group-lasso strength while fine-tuning")->capture_default_str();
  app.add_option("--step", step, "Constant scheduler: sparsity per step")->capture_default_str();
  app.add_option("--final", final_sparsity, "Final sparsity")->capture_default_str();
  app.add_option("--rtol", rtol, "Accept a step at val acc >= rtol * baseline")
      ->capture_default_str();
  app.add_option("--epochs-per-step", epochs_per_step)->capture_default_str();
  app.add_option("--pretrain-epochs", pretrain_epochs,
                 "Untimed training of the start model (hwprune) before both runs")
      ->capture_default_str();
  app.add_option("--zero-dead-channels", zero_dead, "Hold dead neurons' biases at 0 (both)")
      ->capture_default_str();
  app.add_option("--seed", seed)->capture_default_str();
  app.add_option("--python", python, "Python with Debian's torch")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    const auto sets = bench::synthetic_jets({rows, val_rows}, seed);
    const data::Dataset &train_set = sets[0], &val_set = sets[1];
    Model model = make_builtin_model("jet-mlp", 5, seed);
    model.set_precision(parse_precision("ap_fixed<16,6>"));

    train::TrainConfig tcfg;
    tcfg.batch_size = batch;
    tcfg.threads = threads;
    tcfg.seed = seed;
    tcfg.lr = lr;
    if (pretrain_epochs > 0) {
      train::TrainConfig pre = tcfg;
      pre.epochs = pretrain_epochs;
      train::Trainer trainer(model, pre);
      trainer.fit(train_set, nullptr);
    }

    // The peer gets the same rows and start model.
    const auto dir =
        std::filesystem::temp_directory_path() / fmt::format("hwprune-prune-bench-{}", ::getpid());
    std::filesystem::create_directories(dir);
    write_file_atomic((dir / "x.npy").string(), io::npy_bytes(train_set.x));
    write_file_atomic((dir / "y.npy").string(), io::npy_bytes(labels_tensor(train_set)));
    write_file_atomic((dir / "xv.npy").string(), io::npy_bytes(val_set.x));
    write_file_atomic((dir / "yv.npy").string(), io::npy_bytes(labels_tensor(val_set)));
    io::ZipWriter init((dir / "init.npz").string());
    for (const auto& l : model.layers)
      if (l.has_kernel()) {
        init.add(l.name + "_kernel.npy", io::npy_bytes(l.weight("kernel")));
        init.add(l.name + "_bias.npy", io::npy_bytes(l.weight("bias")));
      }
    init.commit();

    prune::PipelineConfig pipeline;
    prune::PruneConfig& cfg = pipeline.prune;
    cfg.objective = "dsp";
    cfg.scheduler.kind = prune::SchedulerKind::Constant;
    cfg.scheduler.initial_sparsity = 0.0;
    cfg.scheduler.step = step;
    cfg.scheduler.final_sparsity = final_sparsity;
    cfg.rtol = rtol;
    cfg.metric = prune::Metric::Accuracy;
    cfg.ranking = prune::Ranking::L2;
    cfg.epochs_per_step = epochs_per_step;
    cfg.patience = 0;        // the peer trains every epoch
    cfg.max_bad_trials = 3;  // and stops after 3 rejections
    cfg.regularisation.epochs = 0;
    cfg.regularisation.alpha = alpha;
    cfg.regularisation.during_fine_tuning = true;
    cfg.train = tcfg;
    cfg.zero_dead_channels = zero_dead;
    pipeline.hardware.defaults.reuse_factor = rf;
    pipeline.hardware.defaults.strategy = Strategy::Resource;
    pipeline.reduce = false;  // the peer keeps the shapes too
    data::TrainingInputs inputs;
    inputs.file.model = model;
    inputs.train = train_set;
    inputs.val = val_set;
    Progress progress;
    const auto t0 = std::chrono::steady_clock::now();
    const prune::PipelineResult res = prune::run_pipeline(std::move(inputs), pipeline, &progress);
    const double ours =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string our_blas = train::loaded_blas_library();

    // Same allocator settings as the engine uses (see src/train/torch/engine.cpp), so the ratio
    // compares the loops, not glibc's defaults.
    const std::string cmd = fmt::format(
        "MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=1073741824 "
        "OMP_WAIT_POLICY=PASSIVE '{}' '{}/prune_peer.py' --dir '{}' --batch-size {} --threads {} "
        "--seed {} --lr {} --rf {} --alpha {} --step {} --final {} --rtol {} "
        "--epochs-per-step {} --max-bad-trials {} --zero-dead-channels {} 2>&1",
        python, HWPRUNE_BENCH_DIR, dir.string(), batch, threads, seed, lr, rf, alpha, step,
        final_sparsity, rtol, epochs_per_step, cfg.max_bad_trials, zero_dead ? 1 : 0);
    fmt::print(stderr, "running the python3-torch peer...\n");
    std::string peer_out;
    try {
      peer_out = bench::run_capture(cmd);
    } catch (...) {
      std::filesystem::remove_all(dir);
      throw;
    }
    std::filesystem::remove_all(dir);
    const PeerRun peer = parse_peer(peer_out);

    fmt::print(
        "jet-mlp 16-64-32-32-5, ap_fixed<16,6> QAT, objective dsp, RF {} Resource, L2 ranking, "
        "constant steps of {} to {}, alpha {:g}, {} fine-tuning epoch(s)/step, Adam lr {:g}, "
        "batch {}, {} train + {} val rows, {} thread(s), zero dead channels {}\n",
        rf, step, final_sparsity, alpha, epochs_per_step, lr, batch, rows, val_rows, threads,
        zero_dead ? "on" : "off");
    fmt::print("{:>4}  {:>6}  | {:>6} {:>8} {:>4} {:>7}  | {:>6} {:>8} {:>4} {:>7}\n", "step",
               "target", "DSP", "val acc", "ok", "s", "DSP", "val acc", "ok", "s");
    fmt::print("{:>4}  {:>6}  | {:^28}  | {:^28}\n", "", "", "hwprune (C++ LibTorch)",
               "python3-torch peer");
    const size_t n = std::max(res.rows.size(), peer.steps.size() + 1);
    for (size_t i = 0; i < n; ++i) {
      std::string ours_col(28, ' '), peer_col(28, ' ');
      double target = 0;
      if (i < res.rows.size()) {
        const auto& r = res.rows[i];
        target = r.target;
        ours_col = fmt::format("{:>6g} {:>8.4f} {:>4} {:>7.1f}", r.resources.at(0), r.metric,
                               r.accepted ? "yes" : "no", r.seconds);
      }
      if (i == 0) {
        peer_col = fmt::format("{:>6g} {:>8.4f} {:>4} {:>7}", peer.baseline_dsp,
                               peer.baseline_metric, "yes", "-");
      } else if (i - 1 < peer.steps.size()) {
        const auto& s = peer.steps[i - 1];
        target = s.target;
        peer_col = fmt::format("{:>6g} {:>8.4f} {:>4} {:>7.1f}", s.dsp, s.metric,
                               s.accepted ? "yes" : "no", s.seconds);
      }
      fmt::print("{:>4}  {:>6.3f}  | {}  | {}\n", i, target, ours_col, peer_col);
    }
    const double peer_final = [&] {
      double m = peer.baseline_metric;
      for (const auto& s : peer.steps)
        if (s.accepted) m = s.metric;
      return m;
    }();
    fmt::print("final val accuracy:     hwprune {:.4f}   python {:.4f}\n", res.final_metric,
               peer_final);
    fmt::print("hwprune (C++ LibTorch): {:>8.1f} s  BLAS {}\n", ours, our_blas);
    fmt::print("python3-torch peer:     {:>8.1f} s  BLAS {}\n", peer.wall, peer.blas);
    fmt::print("ratio python / hwprune: {:.2f}x\n", peer.wall / ours);
  } catch (const std::exception& e) {
    fmt::print(stderr, "prune_bench: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
