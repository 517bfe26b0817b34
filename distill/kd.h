// Hinton KD (METHODS.md §10; reference code: megvii-research/mdistiller,
// mdistiller/distillers/KD.py, the same quantity as RepDistiller's KD):
//
//   L = w_ce·CE(Zs, y) + w_kd·T²·mean_i KL(softmax_T(Zt[i,:]) ‖ softmax_T(Zs[i,:]))
//
// Defaults are the CIFAR-100 config (T = 4, w_ce = 0.1, w_kd = 0.9); the
// ImageNet pairs of mdistiller use T = 1, w_ce = w_kd = 0.5 (pair overrides).
// The loss is fused (distill/fused.h): one double-precision pass on host copies
// of the logits, one autograd node. No warm-up: the epoch is only checked.
#pragma once
#include "distill/objective.h"

namespace retort {
namespace distill {

struct KdOptions {
  double T = 4.0;     // temperature of both softmaxes
  double w_ce = 0.1;  // cross-entropy weight
  double w_kd = 0.9;  // weight of T²·KL
  // Reads the options of the "kd" method; validate()s them.
  static KdOptions from(const Options& o);
  // Throws Error unless T > 0 and the weights are >= 0.
  void validate() const;
};

// Student logits [B, C] (f32, any device), teacher logits [B, C], labels i64 [B]
// (may be undefined when w_ce = 0), epoch >= 1. Terms: "ce" (w_ce·CE) and
// "kd" (w_kd·T²·KL), summing to the total.
LossResult kd_loss(const autograd::Variable& student, const Tensor& teacher, const Tensor& labels,
                   const KdOptions& options, int epoch);

// The same loss composed of f32 autograd functions (log_softmax, mul, sum, ...);
// used by the tests to check the fused version.
LossResult kd_loss_composed(const autograd::Variable& student, const Tensor& teacher, const Tensor& labels,
                            const KdOptions& options, int epoch);

// The "kd" row of the method table.
MethodInfo kd_method();

}  // namespace distill
}  // namespace retort
