// CMKD (reconstruction): "Efficient and Robust Knowledge Distillation from A
// Stronger Teacher Based on Correlation Matching" (Niu et al., arXiv
// 2410.06561), reconstructed from the abstract, METHODS.md §7. No public
// implementation is known; report results as "CMKD (reconstruction)".
//
//   P = softmax_τ(Z);  L_P,i = 1 − ρ_ε(Ps_i, Pt_i)              (DIST's inter term)
//   L_S,i = 1 − ρ_ε(R(Ps_i), hardrank(Pt_i))                    (Spearman: Pearson of ranks)
//   L_CMKD = τ²·mean_i[(1 − w_i)·L_P,i + w_i·L_S,i] + τ²·γ·L_intra
//   L = w_ce·CE + λ·L_CMKD
//
// R is a differentiable (soft) ascending 1-based rank of the student's
// probabilities; the teacher's ranks are hard (ties averaged). w_i is a
// constant or the teacher's normalised entropy (hard samples lean on ranks).
#pragma once
#include <vector>

#include "distill/objective.h"

namespace retort {
namespace distill {

enum class SoftRank {
  Pairwise = 0,  // R_k = 0.5 + Σ_m σ((v_k − v_m)/ε_r), O(C²) per row
  Isotonic = 1,  // projection of v/ε_r onto the permutahedron of (1..C) (Blondel et al. 2020), O(C log C)
};
enum class CmkdWeight {
  Constant = 0,         // w_i = w
  TeacherEntropy = 1,   // w_i = H(softmax_τ(Zt_i)) / log C
};

struct CmkdOptions {
  double tau = 4.0;           // CIFAR-100 default; ImageNet: 1
  double eps_r = 0.1;         // soft-rank temperature
  SoftRank rank = SoftRank::Pairwise;
  CmkdWeight weight_rule = CmkdWeight::Constant;
  double w = 0.5;             // the constant w_i
  double gamma = 0.0;         // DIST-style intra-class (column) term; 0: none
  double lambda = 2.0;        // weight of L_CMKD (as DIST's w_kd)
  double ce_weight = 1.0;
  double eps = 1e-8;          // on the product of the norms in every Pearson correlation
};

CmkdOptions cmkd_options(const Options& options);

// Ascending 1-based ranks with ties averaged.
std::vector<double> hard_rank(const std::vector<double>& values);
// The soft ranks of `values` (→ hard_rank as eps_r → 0).
std::vector<double> soft_rank(const std::vector<double>& values, double eps_r, SoftRank method);
// ρ_ε of two vectors: Pearson correlation with ε on the product of the centred norms.
double pearson(const std::vector<double>& a, const std::vector<double>& b, double eps);

// Fused (double precision, one node). Terms: "ce", "pearson"
// (λτ²·mean (1 − w_i)L_P,i), "spearman" (λτ²·mean w_i·L_S,i), "intra" (λτ²γ·L_intra).
// No warm-up: the epoch is only checked.
LossResult cmkd_loss(const autograd::Variable& student, const Tensor& teacher, const Tensor& labels,
                     const CmkdOptions& options, int epoch);

MethodInfo cmkd_method();

}  // namespace distill
}  // namespace retort
