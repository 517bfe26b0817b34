// DKD: Decoupled Knowledge Distillation (Zhao et al., CVPR 2022), METHODS.md §5.
// Reference code: megvii-research/mdistiller, mdistiller/distillers/DKD.py.
//
//   L = w_ce·CE + min(epoch/warmup, 1)·(α·TCKD + β·NCKD)
//   TCKD = T²·mean_i KL(b̂_i ‖ b_i), b = [p_y, Σ_{k≠y} p_k] at temperature T
//   NCKD = T²·mean_i KL over the C−1 non-target classes (target dropped, renormalised)
#pragma once
#include "distill/objective.h"

namespace retort {
namespace distill {

struct DkdOptions {
  double T = 4.0;          // temperature of both terms
  double alpha = 1.0;      // TCKD weight
  double beta = 8.0;       // NCKD weight (CIFAR-100 default; per-pair table in dkd_method())
  double warmup = 20.0;    // epochs of the linear warm-up of the KD part; <= 0: none
  double ce_weight = 1.0;  // cross-entropy weight (outside the warm-up)
};

// Reads the typed options from resolved method options (names as in dkd_method()).
DkdOptions dkd_options(const Options& options);

// The fused pass: values and the gradient in one sweep over host double copies
// of the logits; one autograd node. Terms: "ce", "tckd", "nckd" (weighted, warmed
// up; they sum to the total). The target class is dropped exactly (0·log 0 = 0).
LossResult dkd_loss(const autograd::Variable& student, const Tensor& teacher, const Tensor& labels,
                    const DkdOptions& options, int epoch);

// The same loss composed of autograd ops the way the reference writes it (the
// target logit lowered by 1000 after dividing by T); for checking dkd_loss.
// Equal to dkd_loss unless a target logit exceeds another by more than 1000·T.
LossResult dkd_loss_composed(const autograd::Variable& student, const Tensor& teacher, const Tensor& labels,
                             const DkdOptions& options, int epoch);

MethodInfo dkd_method();

}  // namespace distill
}  // namespace retort
