// Progress of a training run on the terminal: a bar per epoch (images/s, loss,
// ETA) when stdout is a terminal, and plain one-line-per-epoch logs otherwise.
#pragma once
#include <chrono>
#include <string>

#include "distill/trainer.h"

namespace retort {
namespace tools {

class ProgressPrinter : public distill::TrainerObserver {
 public:
  // `prefix` starts every line (e.g. the run's short name in the demo).
  explicit ProgressPrinter(std::string prefix = "");
  void message(const std::string& line) override;
  void epoch_begin(int epoch, int epochs, int64_t batches, double lr) override;
  void step(int epoch, int64_t batch, int64_t batches, double loss, double images_per_s) override;
  void evaluating(int epoch) override;
  void epoch_end(const distill::EpochMetrics& m, bool best) override;

 private:
  std::string prefix_;
  bool tty_;
  int epochs_ = 0;
  std::chrono::steady_clock::time_point epoch_start_, last_draw_;
};

}  // namespace tools
}  // namespace retort
