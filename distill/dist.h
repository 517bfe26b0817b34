// DIST: Knowledge Distillation from A Stronger Teacher (Huang et al., NeurIPS
// 2022), METHODS.md §6. Reference code: hunto/image_classification_sota,
// lib/models/losses/dist_kd.py.
//
//   Y = softmax_τ(Z);  ρ_ε(a, b) = ã·b̃ / (‖ã‖‖b̃‖ + ε), ã = a − mean(a)
//   L_inter = 1 − mean_i ρ_ε(Ys[i,:], Yt[i,:])      (rows)
//   L_intra = 1 − mean_j ρ_ε(Ys[:,j], Yt[:,j])      (columns: couples the batch)
//   L = w_ce·CE + w_kd·τ²·(β·L_inter + γ·L_intra)
//
// "The batch" of the intra term is the batch this call sees (per device under
// data parallelism, as the reference runs it on one GPU; METHODS.md §13 item 6).
#pragma once
#include "distill/fused.h"
#include "distill/objective.h"

namespace retort {
namespace distill {

struct DistOptions {
  double tau = 4.0;        // temperature (ImageNet: 1)
  double beta = 1.0;       // inter-class (row) weight
  double gamma = 1.0;      // intra-class (column) weight
  double ce_weight = 1.0;  // cross-entropy weight
  double kd_weight = 2.0;  // weight of τ²·(β·L_inter + γ·L_intra)
  double eps = 1e-8;       // added to the product of the centred norms
};

DistOptions dist_options(const Options& options);

// Fused pass (double precision on host copies, one autograd node). Terms:
// "ce", "inter" (w_kd·τ²·β·L_inter), "intra" (w_kd·τ²·γ·L_intra). No warm-up:
// the epoch is only checked. With B = 1 every centred column is zero, so
// ρ = 0 and L_intra = 1 with no gradient, as in the reference.
LossResult dist_loss(const autograd::Variable& student, const Tensor& teacher, const Tensor& labels,
                     const DistOptions& options, int epoch);

// The same loss from f32 autograd functions, for checking dist_loss. Needs
// centred student rows and columns that are not all zero (B >= 2).
LossResult dist_loss_composed(const autograd::Variable& student, const Tensor& teacher, const Tensor& labels,
                              const DistOptions& options, int epoch);

MethodInfo dist_method();

// Σ_j ρ_ε(Ys[:, j], Yt[:, j]) over the columns of two probability matrices (the
// intra-class relation, also used by CMKD); when dYs != nullptr adds
// scale·∂/∂Ys (already zero-mean per column, so the centring drops out).
double dist_column_pearson_sum(const fused::Matrix& ys, const fused::Matrix& yt, double eps, fused::Matrix* dys,
                               double scale);

}  // namespace distill
}  // namespace retort
