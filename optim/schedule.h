// Learning-rate schedules as functions of the epoch, counted from 1 as the
// benchmark counts them. Multistep: lr0 * gamma^k, k = number of milestones
// strictly below the epoch (150/180/210 drop the rate at the start of epochs
// 151, 181, 211). Cosine: PyTorch's CosineAnnealingLR(T_max = epochs),
// lr0 at epoch 1 and min_lr + (lr0 - min_lr)(1 + cos(pi (E-1)/E))/2 at the last epoch E.
// Optional linear warm-up over the first warmup_epochs epochs.
#pragma once
#include <string>
#include <vector>

namespace retort {
namespace optim {

struct Schedule {
  enum class Kind { Constant, MultiStep, Cosine };
  Kind kind = Kind::MultiStep;
  double base_lr = 0.05;
  std::vector<int> milestones = {150, 180, 210};
  double gamma = 0.1;
  int total_epochs = 240;  // cosine
  double min_lr = 0.0;     // cosine
  int warmup_epochs = 0;   // lr * epoch / warmup_epochs for epoch <= warmup_epochs

  double lr_at(int epoch) const;
  // Parses "multistep", "cosine" or "constant".
  static Kind parse_kind(const std::string& s);
};

}  // namespace optim
}  // namespace retort
