// The Trainer: epochs of distillation (or plain training) with per-epoch
// evaluation, metrics, checkpoints and exact resume.
//
// A run lives in a folder (DESIGN.md section 8):
//   config.yaml         the resolved config
//   metrics.csv/.jsonl  one row per epoch: lr, every loss term, train top-1,
//                       test loss/top-1/top-5, seconds, images/s
//   log.txt             one line per epoch
//   last.safetensors    the student after the last finished epoch (the
//                       initialisation until epoch 1 ends)
//   best.safetensors    the student at its best test top-1
//   resume.safetensors  everything --resume needs: the student, the optimiser
//                       buffers, the objective's parameters, the epoch, the
//                       RNG offset, the metrics and the log so far
//   report.html         curves, the final table and the config
// Every file is written atomically (write_file_atomic). resume.safetensors is
// the commit point: written first after each epoch (and for epoch 0 before
// config.yaml), the other files are derived from it and rewritten on resume, so
// a run killed at any moment resumes to the result of an uninterrupted run.
// Per step: teacher forward in evaluation mode without a graph, student
// forward, objective, backward, the guards (finite loss, finite gradients),
// optimiser step.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "distill/config.h"
#include "distill/metrics.h"
#include "distill/settings.h"

namespace retort {
namespace distill {

// How the trainer reports progress (tools/ draws the bar and prints lines).
class TrainerObserver {
 public:
  virtual ~TrainerObserver() = default;
  virtual void message(const std::string&) {}
  virtual void epoch_begin(int /*epoch*/, int /*epochs*/, int64_t /*batches*/, double /*lr*/) {}
  virtual void step(int /*epoch*/, int64_t /*batch*/, int64_t /*batches*/, double /*loss*/, double /*images_per_s*/) {}
  virtual void evaluating(int /*epoch*/) {}
  virtual void epoch_end(const EpochMetrics&, bool /*best*/) {}
};

struct RunSummary {
  std::string run_dir;
  int epochs_done = 0;
  double last_top1 = 0.0;
  int best_epoch = 0;
  double best_top1 = 0.0;
  double teacher_top1 = -1.0;  // test top-1 of the teacher (distillation only)
};

class Trainer {
 public:
  // A new run in OUT/NAME (the folder must not hold a run yet).
  static std::unique_ptr<Trainer> create(const Config& config);
  // Continues the run in `run_dir` from its last checkpoint, with its own config.
  static std::unique_ptr<Trainer> resume(const std::string& run_dir);
  ~Trainer();

  // Trains the remaining epochs. A non-finite loss, gradient or test loss stops
  // with an Error naming the step, the loss terms, the parameter nearest the
  // loss whose gradient went non-finite and the last good checkpoint, which is
  // left as it was. With config detect_anomaly the Error names the first op
  // that produced a NaN/Inf (autograd/anomaly.h).
  RunSummary run(TrainerObserver& observer);

  const std::string& run_dir() const;
  const std::vector<EpochMetrics>& history() const;
  const TrainSettings& settings() const;

 private:
  struct State;
  explicit Trainer(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

// The default run name: DATA-STUDENT[-METHOD-from-TEACHER]-sSEED.
std::string default_run_name(const TrainSettings& s);

}  // namespace distill
}  // namespace retort
