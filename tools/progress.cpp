#include "tools/progress.h"

#include <unistd.h>

#include <cstdio>

#include "tools/crash_hooks.h"

namespace retort {
namespace tools {

ProgressPrinter::ProgressPrinter(std::string prefix) : prefix_(std::move(prefix)), tty_(isatty(STDOUT_FILENO) != 0) {}

void ProgressPrinter::message(const std::string& line) {
  std::printf("%s%s\n", prefix_.c_str(), line.c_str());
  std::fflush(stdout);
}

void ProgressPrinter::epoch_begin(int, int epochs, int64_t, double) {
  epochs_ = epochs;
  epoch_start_ = std::chrono::steady_clock::now();
  last_draw_ = std::chrono::steady_clock::time_point();
}

void ProgressPrinter::step(int epoch, int64_t batch, int64_t batches, double loss, double images_per_s) {
  crash_hook_after_step();
  if (!tty_) return;
  const auto now = std::chrono::steady_clock::now();
  if (batch != batches && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const int width = 30;
  const int filled = static_cast<int>(width * batch / std::max<int64_t>(batches, 1));
  std::string bar(filled, '#');
  bar.resize(width, '.');
  // The epoch's ETA from the time per batch so far (batches are near-equal).
  const double elapsed = std::chrono::duration<double>(now - epoch_start_).count();
  const double eta = batch > 0 ? elapsed / batch * (batches - batch) : 0.0;
  std::printf("\r%sepoch %d/%d [%s] %lld/%lld loss %.4f %.0f img/s ETA %.0fs ", prefix_.c_str(), epoch, epochs_,
              bar.c_str(), static_cast<long long>(batch), static_cast<long long>(batches), loss, images_per_s, eta);
  std::fflush(stdout);
}

void ProgressPrinter::evaluating(int epoch) {
  if (!tty_) return;
  if (epoch == 0) std::printf("%sevaluating the teacher...", prefix_.c_str());
  else std::printf("  evaluating...");
  std::fflush(stdout);
}

void ProgressPrinter::epoch_end(const distill::EpochMetrics& m, bool best) {
  if (tty_) std::printf("\r\033[K");
  std::printf("%sepoch %d/%d lr %.4g loss %.4f train %.2f%% | test loss %.4f top-1 %.2f%% top-5 %.2f%% | %.1fs %.0f img/s%s\n",
              prefix_.c_str(), m.epoch, epochs_, m.lr, m.train_loss, m.train_top1, m.test_loss, m.test_top1,
              m.test_top5, m.seconds, m.images_per_second, best ? " *" : "");
  std::fflush(stdout);
  crash_hook_after_epoch(m.epoch);
}

}  // namespace tools
}  // namespace retort
