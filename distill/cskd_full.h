// CSKD, full recipe (METHODS.md §3; reference code: llieeai/lud,
// mdistiller/distillers/CSKD.py with MLKD's two-view pipeline). This is what the
// reference trains; report it as "CSKD (full recipe)".
//
// Two views w (weak) and s (strong) of every image, both through the student
// and the teacher. With T⃗ = CSWT(Zs_w, Zt_w) (see cskd.h) and L_cs as in cskd.h:
//
//   L = w_ce·[CE(Zs_w, y) + CE(Zs_s, y)]
//     + w_kd·r ·[L_cs(Zs_w, Zt_w; T) + L_cs(Zs_w, Zt_w; T⃗)]
//     + w_kd   ·[L_cs(Zs_s, Zt_s; T) + L_cs(Zs_s, Zt_s; T⃗)]      (weak-view T⃗ reused)
//     + w_kd·rc·[L_cc(T) + L_cc(T⃗)] + w_kd·r·[L_bc(T) + L_bc(T⃗)]      (weak view only)
//   L_cc(τ⃗) = 1 − (1/C) Σ_j cos_ε(G_t[j, :], G_s[j, :]),  G = PᵀP (C x C class Gram)
//   L_bc(τ⃗) = 1 − (1/B) Σ_i cos_ε(H_t[i, :], H_s[i, :]),  H = PPᵀ (B x B batch Gram)
//   P[i, :] = softmax_{τ_i}(Z[i, :]) of the weak view
//
// Mask fractions (the reference's "(scalar × mask).mean()" quirk): r and rc are
// scalar multipliers, the fractions of conf_i = max_k softmax_1(Zt_w)[i, k] and
// of cconf_j = Σ_i softmax_1(Zt_w)[i, j] that are <= their 50th percentile
// (linear interpolation between order statistics; comparison "<="). Options r
// and rc override them (a negative value, the default, means "computed"); the
// tied test vector of METHODS §3.5 needs them supplied.
//
// T⃗, r and rc are constants for autograd. The objective is fused: one autograd
// node with gradients for both student views, double precision on host copies
// (see distill/fused.h); the _composed variants exist for the tests.
#pragma once
#include <vector>

#include "distill/cskd.h"
#include "distill/fused.h"
#include "distill/objective.h"

namespace retort {
namespace distill {

struct CskdFullOptions {
  CskdOptions core;  // T, alpha, T_low, T_high, w_ce, w_kd, eps, delta as for "cskd";
                     // core.temperatures, when set, replaces the weak view's CSWT T⃗
  double r = -1.0;   // weight of the weak-view cosine and batch-Gram terms; < 0: computed
  double rc = -1.0;  // weight of the class-Gram terms; < 0: computed
  // Reads the options of "cskd-full"; validate()s them.
  static CskdFullOptions from(const Options& o);
  // Throws Error on bad core options or r, rc > 1.
  void validate() const;
};

// The fraction of `values` that are <= their 50th percentile (linear
// interpolation between order statistics). Requires at least one value.
double median_fraction(const std::vector<double>& values);

struct MaskFractions {
  std::vector<double> conf;        // max_k softmax_1(Zt_w)[i, k], per sample
  std::vector<double> class_conf;  // Σ_i softmax_1(Zt_w)[i, j], per class
  double r = 0, rc = 0;
};
MaskFractions mask_fractions(const fused::Matrix& teacher_weak);
MaskFractions mask_fractions(const Tensor& teacher_weak);

// L_cc and L_bc with row temperatures tau on host logits, in double; when dz
// is given, add scale·∂L/∂Zs to it.
double gram_class(const fused::Matrix& student, const fused::Matrix& teacher, const std::vector<double>& tau,
                  double eps, fused::Matrix* dz, double scale);
double gram_batch(const fused::Matrix& student, const fused::Matrix& teacher, const std::vector<double>& tau,
                  double eps, fused::Matrix* dz, double scale);

// The Gram terms as differentiable scalars: fused (one node), and composed of
// f32 autograd functions (matmul, sum, sqrt, div) for the tests.
autograd::Variable gram_class_loss(const autograd::Variable& student, const Tensor& teacher,
                                   const std::vector<double>& tau, double eps);
autograd::Variable gram_batch_loss(const autograd::Variable& student, const Tensor& teacher,
                                   const std::vector<double>& tau, double eps);
autograd::Variable gram_class_loss_composed(const autograd::Variable& student, const Tensor& teacher,
                                            const std::vector<double>& tau, double eps);
autograd::Variable gram_batch_loss_composed(const autograd::Variable& student, const Tensor& teacher,
                                            const std::vector<double>& tau, double eps);

// The full recipe. Both views [B, C] (f32, any device), labels i64 [B] (may be
// undefined when w_ce = 0), epoch >= 1 (unused). Terms, summing to the total:
// "ce", "cs_weak", "cs_strong", "cc", "bc" (each with its weights and fraction).
LossResult cskd_full_loss(const autograd::Variable& student_weak, const Tensor& teacher_weak,
                          const autograd::Variable& student_strong, const Tensor& teacher_strong,
                          const Tensor& labels, const CskdFullOptions& options, int epoch);
LossResult cskd_full_loss_composed(const autograd::Variable& student_weak, const Tensor& teacher_weak,
                                   const autograd::Variable& student_strong, const Tensor& teacher_strong,
                                   const Tensor& labels, const CskdFullOptions& options, int epoch);

// The "cskd-full" row of the method table (its objective needs the strong view).
MethodInfo cskd_full_method();

}  // namespace distill
}  // namespace retort
