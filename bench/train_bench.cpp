// Training-speed benchmark: one epoch of the jet-mlp shape (16-64-32-32-5) on 800,000
// seeded synthetic rows, with ap_fixed<16,6> quantization-aware training and ~50% weight
// masks, by hwprune's engine and by the same loop in Debian's python3-torch
// (bench/train_peer.py), in the same run. Prints samples/s of both, the ratio, and the BLAS
// library each process has loaded.
//
//   build/bench/train_bench [--rows 800000] [--batch-size 1024] [--threads 1] [--epochs 1]
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "bench_util.hpp"
#include "hwprune/io/npy.hpp"
#include "hwprune/io/zip.hpp"
#include "hwprune/train/trainer.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

using namespace hwprune;

namespace {}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hwprune training benchmark against python3-torch"};
  int64_t rows = 800000, batch = 1024;
  int threads = 1, epochs = 1;
  uint64_t seed = 1;
  std::string python = "/usr/bin/python3";
  app.add_option("--rows", rows)->capture_default_str();
  app.add_option("--batch-size", batch)->capture_default_str();
  app.add_option("--threads", threads)->capture_default_str();
  app.add_option("--epochs", epochs)->capture_default_str();
  app.add_option("--seed", seed)->capture_default_str();
  app.add_option("--python", python, "Python with Debian's torch")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    const data::Dataset d = bench::synthetic_jets({rows}, seed).front();
    Model model = make_builtin_model("jet-mlp", 5, seed);
    model.set_precision(FixedType::parse("ap_fixed<16,6>"));
    std::mt19937_64 rng(seed + 1);
    for (auto& l : model.layers)
      if (l.has_kernel()) {
        l.mask = Tensor(l.weight("kernel").shape);
        for (float& v : l.mask.data) v = (rng() & 1) ? 1.0f : 0.0f;
      }

    // The peer gets the same rows, initial weights and masks.
    const auto dir =
        std::filesystem::temp_directory_path() / fmt::format("hwprune-bench-{}", ::getpid());
    std::filesystem::create_directories(dir);
    write_file_atomic((dir / "x.npy").string(), io::npy_bytes(d.x));
    Tensor y({rows});
    for (int64_t i = 0; i < rows; ++i) y.data[i] = static_cast<float>(d.labels[i]);
    write_file_atomic((dir / "y.npy").string(), io::npy_bytes(y));
    io::ZipWriter init((dir / "init.npz").string());
    for (const auto& l : model.layers)
      if (l.has_kernel()) {
        init.add(l.name + "_kernel.npy", io::npy_bytes(l.weight("kernel")));
        init.add(l.name + "_bias.npy", io::npy_bytes(l.weight("bias")));
        init.add(l.name + "_mask.npy", io::npy_bytes(l.mask));
      }
    init.commit();

    train::TrainConfig cfg;
    cfg.epochs = epochs;
    cfg.batch_size = batch;
    cfg.threads = threads;
    cfg.seed = seed;
    cfg.lr = 1e-3;
    train::Trainer trainer(model, cfg);
    const auto history = trainer.fit(d, nullptr);
    double ours = 0;
    for (const auto& h : history) ours += h.samples_per_second / history.size();
    const std::string our_blas = train::loaded_blas_library();

    // Same allocator settings as the engine uses (see src/train/trainer.cpp), so the ratio
    // compares the training loops, not glibc's defaults.
    const std::string cmd = fmt::format(
        "MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=1073741824 "
        "OMP_WAIT_POLICY=PASSIVE '{}' '{}/train_peer.py' --dir '{}' --batch-size {} --threads {} "
        "--epochs {} --seed {} 2>&1",
        python, HWPRUNE_BENCH_DIR, dir.string(), batch, threads, epochs, seed);
    const std::string peer_out = bench::run_capture(cmd);
    std::filesystem::remove_all(dir);
    double peer = 0;
    std::string peer_blas, peer_acc;
    for (size_t pos = 0; pos < peer_out.size();) {
      size_t end = peer_out.find('\n', pos);
      if (end == std::string::npos) end = peer_out.size();
      const std::string line = peer_out.substr(pos, end - pos);
      if (line.rfind("samples_per_second ", 0) == 0) peer = std::stod(line.substr(19));
      if (line.rfind("blas ", 0) == 0) peer_blas = line.substr(5);
      if (line.rfind("train_accuracy ", 0) == 0) peer_acc = line.substr(15);
      pos = end + 1;
    }
    if (peer <= 0) throw hwprune::Error("peer printed no samples_per_second:\n" + peer_out);
    fmt::print(
        "jet-mlp 16-64-32-32-5, ap_fixed<16,6> QAT (STE), ~50% masks, Adam, batch {}, "
        "{} rows x {} epoch(s), {} thread(s)\n",
        batch, rows, epochs, threads);
    fmt::print("hwprune (C++ LibTorch): {:>10.0f} samples/s  train acc {:.4f}  BLAS {}\n", ours,
               history.back().train_metric, our_blas);
    fmt::print("python3-torch peer:     {:>10.0f} samples/s  train acc {}  BLAS {}\n", peer,
               peer_acc, peer_blas);
    fmt::print("ratio hwprune / peer:   {:.2f}x\n", ours / peer);
  } catch (const std::exception& e) {
    fmt::print(stderr, "train_bench: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
