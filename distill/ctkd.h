// CTKD: Curriculum Temperature for Knowledge Distillation (Li et al., AAAI
// 2023), global variant, METHODS.md §11. Reference code: zhengli97/CTKD,
// models/temp_global.py and helper/loops.py.
//
//   T = t_start + t_end·sigmoid(GRL_λe(θ)),  θ learnable (initially 1: T = 15.6212)
//   L = w_ce·CE + w_kd·T²·mean_i KL(softmax_T(Zt_i) ‖ softmax_T(Zs_i))
//   λ_e = (cos(π·min(e, E)/E) + 1)/2·(λ_max − λ_min) + λ_min   (0 → −1 over E = 10 epochs)
//
// The gradient-reversal layer (GRL) is the identity forward and multiplies the
// gradient reaching θ by λ_e, so once λ_e < 0 the temperature ascends the
// distillation loss while the student descends it. θ belongs to the Objective
// and is handed to the trainer through parameters(): it is updated by the
// student's optimiser, weight decay included (the reference behaviour).
#pragma once
#include "distill/objective.h"

namespace retort {
namespace distill {

struct CtkdOptions {
  double t_start = 1.0;       // T = t_start + t_end·sigmoid(θ)
  double t_end = 20.0;
  double theta_init = 1.0;    // initial θ
  double ce_weight = 0.1;
  double kd_weight = 0.9;
  double cosine_epochs = 10;  // epochs over which λ goes from lambda_max to lambda_min
  double lambda_max = 0.0;
  double lambda_min = -1.0;
};

CtkdOptions ctkd_options(const Options& options);

// λ_e of the cosine schedule at `epoch` (counted from 1).
double ctkd_lambda(int epoch, const CtkdOptions& options);

// The gradient-reversal layer: returns x unchanged; its backward multiplies
// the incoming gradient by lambda.
autograd::Variable gradient_reversal(const autograd::Variable& x, double lambda);

// T = t_start + t_end·sigmoid(gradient_reversal(θ, lambda)), θ of shape [1].
autograd::Variable ctkd_temperature(const autograd::Variable& theta, const CtkdOptions& options, double lambda);

// T²·mean_i KL(softmax_T(Zt_i) ‖ softmax_T(Zs_i)) at a differentiable
// temperature T (one element): fused, double precision, one node with
// gradients for the student logits and for T (METHODS.md §11.2).
autograd::Variable kd_at_temperature(const autograd::Variable& student, const Tensor& teacher,
                                     const autograd::Variable& T);
// The same from f32 autograd functions, for checking it.
autograd::Variable kd_at_temperature_composed(const autograd::Variable& student, const Tensor& teacher,
                                              const autograd::Variable& T);

// The CTKD loss at epoch `epoch` with the learnable θ. Terms: "ce", "kd".
LossResult ctkd_loss(const autograd::Variable& student, const Tensor& teacher, const Tensor& labels,
                     const autograd::Variable& theta, const CtkdOptions& options, int epoch);

MethodInfo ctkd_method();

}  // namespace distill
}  // namespace retort
