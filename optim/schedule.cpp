#include "optim/schedule.h"

#include <cmath>

#include "tensor/error.h"
#include "tensor/text.h"

namespace retort {
namespace optim {

double Schedule::lr_at(int epoch) const {
  RETORT_CHECK(epoch >= 1, "schedule: epochs count from 1, found " << epoch);
  double lr = base_lr;
  switch (kind) {
    case Kind::Constant: break;
    case Kind::MultiStep:
      for (int m : milestones)
        if (m < epoch) lr *= gamma;
      break;
    case Kind::Cosine: {
      // PyTorch's CosineAnnealingLR(T_max = total_epochs) stepped once per
      // epoch: the last epoch still trains (min_lr would be epoch total + 1).
      const double t = std::min(1.0, static_cast<double>(epoch - 1) / std::max(total_epochs, 1));
      lr = min_lr + (base_lr - min_lr) * 0.5 * (1.0 + std::cos(M_PI * t));
      break;
    }
  }
  if (warmup_epochs > 0 && epoch <= warmup_epochs) lr *= static_cast<double>(epoch) / warmup_epochs;
  return lr;
}

Schedule::Kind Schedule::parse_kind(const std::string& s) {
  if (s == "multistep") return Kind::MultiStep;
  if (s == "cosine") return Kind::Cosine;
  if (s == "constant") return Kind::Constant;
  RETORT_FAIL("schedule: expected multistep, cosine or constant, found '"
              << s << "'" << did_you_mean(s, {"multistep", "cosine", "constant"}));
}

}  // namespace optim
}  // namespace retort
