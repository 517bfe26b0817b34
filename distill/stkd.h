// STKD (reconstruction): "Similarity Transfer for Knowledge Distillation"
// (Zhao et al., arXiv 2103.10047), reconstructed from the abstract as plain
// mixup-KD, METHODS.md §8. Report results as "mixup-KD (STKD reconstruction)".
//
// The training step mixes the inputs, X̃ = λ·X + (1 − λ)·X[π] with one
// λ ~ Beta(a, a) per batch, and runs both networks on X̃; the objective gets
// those logits, λ and both label vectors (y_a = y, y_b = y[π]):
//
//   L_mixCE = mean_i [λ·CE(Zs_i, y_a,i) + (1 − λ)·CE(Zs_i, y_b,i)]
//   L_ST    = T²·mean_i KL(softmax_T(Zt_i) ‖ softmax_T(Zs_i))
//   L       = L_mixCE + β·L_ST   (+ optional clean-batch CE and KD)
//
// With nontarget_only the KL runs over the classes other than y_a,i and y_b,i,
// both distributions renormalised (a DKD-NCKD-like use of the mixed labels).
#pragma once
#include "distill/objective.h"

namespace retort {
namespace distill {

struct StkdOptions {
  double T = 4.0;
  double beta = 1.0;             // weight of L_ST
  double mix_alpha = 1.0;        // a of λ ~ Beta(a, a): used by the training step that mixes the inputs
  bool nontarget_only = false;   // distil only over the classes other than both labels
  double clean_ce_weight = 0.0;  // weight of CE on the clean batch (needs its logits)
  double clean_kd_weight = 0.0;  // weight of T²·KL on the clean batch (needs its logits)
};

StkdOptions stkd_options(const Options& options);

// `student`/`teacher`: logits on the mixed batch; `labels_a`, `labels_b`: i64 [B];
// `lambda` in [0, 1]. `clean_student`/`clean_teacher`: logits on the unmixed
// batch (labels labels_a), required when a clean weight is > 0, else ignored.
// Fused (double precision, one node). Terms: "mix_ce", "st" (β·L_ST),
// "clean_ce", "clean_kd" (the last two only with a clean weight > 0).
LossResult stkd_loss(const autograd::Variable& student, const Tensor& teacher, const Tensor& labels_a,
                     const Tensor& labels_b, double lambda, const StkdOptions& options,
                     const autograd::Variable& clean_student = autograd::Variable(),
                     const Tensor& clean_teacher = Tensor());

// The objective: StepInputs.student/teacher are the mixed-batch logits, labels
// and labels_b the two label vectors, mix_lambda the coefficient
// (needs().mixup). StepInputs carries no clean-batch logits, so its options
// must keep the clean weights at 0.
MethodInfo stkd_method();

}  // namespace distill
}  // namespace retort
