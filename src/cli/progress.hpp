// Training progress for the CLI: a live bar on a terminal, plain log lines otherwise.
#pragma once

#include <chrono>
#include <cstdio>

#include "hwprune/train/trainer.hpp"

namespace hwprune::cli {

class TerminalProgress : public train::ProgressSink {
 public:
  // `classification` picks the metric label (acc vs mse). Writes to stderr.
  explicit TerminalProgress(bool classification, bool quiet = false);
  void epoch_begin(int epoch, int epochs, int64_t batches) override;
  void batch_end(int64_t batch, int64_t samples, double running_loss) override;
  void epoch_end(const train::EpochStats& s) override;

 private:
  bool tty_;
  bool classification_;
  bool quiet_;
  int epoch_ = 0, epochs_ = 0;
  int64_t batches_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace hwprune::cli
