#include "progress.hpp"

#include <unistd.h>

#include <cmath>
#include <string>

#include <fmt/format.h>

namespace hwprune::cli {

namespace {

std::string clock_str(double seconds) {
  const auto s = static_cast<int64_t>(std::max(0.0, seconds) + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

}  // namespace

TerminalProgress::TerminalProgress(bool classification, bool quiet)
    : tty_(::isatty(STDERR_FILENO) == 1), classification_(classification), quiet_(quiet) {}

void TerminalProgress::epoch_begin(int epoch, int epochs, int64_t batches) {
  epoch_ = epoch;
  epochs_ = epochs;
  batches_ = batches;
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

void TerminalProgress::batch_end(int64_t batch, int64_t samples, double running_loss) {
  if (!tty_ || quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  if (batch != batches_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double frac = static_cast<double>(batch) / static_cast<double>(batches_);
  constexpr int kWidth = 28;
  const int filled = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kWidth) bar += '>';
  bar.resize(kWidth, ' ');
  const double rate = elapsed > 0 ? static_cast<double>(samples) / elapsed : 0.0;
  const double eta = frac > 0 ? elapsed * (1.0 - frac) / frac : 0.0;
  fmt::print(stderr, "\r\x1b[2Kepoch {}/{} [{}] {}/{}  {:.0f} samples/s  ETA {}  loss {:.4f}",
             epoch_, epochs_, bar, batch, batches_, rate, clock_str(eta), running_loss);
  std::fflush(stderr);
}

void TerminalProgress::epoch_end(const train::EpochStats& s) {
  if (quiet_) return;
  const char* metric = classification_ ? "acc" : "mse";
  auto fmt_metric = [&](double v) {
    return classification_ ? fmt::format("{:.2f}%", 100.0 * v) : fmt::format("{:.5g}", v);
  };
  std::string line = fmt::format("epoch {}/{}  lr {:.3g}  loss {:.4f}  {} {}", s.epoch, epochs_,
                                 s.lr, s.train_loss, metric, fmt_metric(s.train_metric));
  if (!std::isnan(s.val_loss))
    line +=
        fmt::format("  val_loss {:.4f}  val_{} {}", s.val_loss, metric, fmt_metric(s.val_metric));
  line += fmt::format("  {:.1f} s  {:.0f} samples/s", s.seconds, s.samples_per_second);
  if (tty_) fmt::print(stderr, "\r\x1b[2K");
  fmt::print(stderr, "{}\n", line);
  std::fflush(stderr);
}

}  // namespace hwprune::cli
