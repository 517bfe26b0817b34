// CSKD + CSWT, the core objective (METHODS.md §2; reference code: llieeai/lud,
// mdistiller/distillers/CSKD.py, not marked official):
//
//   L = w_ce·CE(Zs, y) + w_kd·[ L_cs(Zs, Zt; T) + L_cs^CSWT(Zs, Zt; T⃗) ]
//   L_cs(T⃗)  = α·(mean_i T_i)²·(1 − (1/C) Σ_j cos_ε(P_s[:, j], P_t[:, j])),
//              P[i, :] = softmax_{T_i}(Z[i, :])  (batch predictions: columns)
//   L_cs(T)  = L_cs with every T_i = T (so the factor is α·T²)
//   cos_ε(a, b) = |a·b| / (‖a‖‖b‖ + ε)          (ε on the product of the norms)
//
// CSWT temperatures: s_i = cos_ε(softmax_1(Zs[i, :]), softmax_1(Zt[i, :])) from
// the detached logits, T_i = T_low + (T_high − T_low)·(s_max − s_i)/(s_max − s_min):
// the most similar sample gets T_low, the least similar T_high. The T_i, s_i,
// s_min and s_max are constants for autograd.
//
// Degenerate batches (chosen rule, METHODS §2.5): when s_max − s_min <= δ
// (B = 1, or all rows equally similar), where the reference divides 0 by 0,
// every T_i = (T_low + T_high)/2 (4 with the defaults, equal to the fixed T).
// δ defaults to 0, so only exact equality triggers it and every other batch
// behaves as the reference. With B = 1 every column has one entry, so both
// cosine terms are 0 up to ε and only CE gives a signal.
//
// The batch is the batch the call sees (the per-device batch, §1.7). The
// objective is fused (distill/fused.h): double precision on host copies, one
// autograd node; the _composed variants build it from f32 autograd functions
// and exist for the tests.
#pragma once
#include <vector>

#include "distill/fused.h"
#include "distill/objective.h"

namespace retort {
namespace distill {

struct CskdOptions {
  double T = 4.0;       // fixed temperature of L_cs (CFG.CSKD.TEMPERATURE)
  double alpha = 2.0;   // factor inside both cosine terms (the reference's function default)
  double T_low = 2.0;   // CSWT temperature of the most similar sample
  double T_high = 6.0;  // CSWT temperature of the least similar sample
  double w_ce = 1.0;    // cross-entropy weight
  double w_kd = 1.0;    // weight of L_cs + L_cs^CSWT
  double eps = 1e-8;    // added to the product of the norms
  double delta = 0.0;   // degenerate-batch threshold on s_max − s_min
  // When not empty (one per sample), used as T⃗ instead of CSWT(Zs, Zt): the
  // temperatures of another view, or frozen ones (gradient checks hold T⃗ fixed,
  // as autograd does). Not a method option.
  std::vector<double> temperatures;
  // Reads the options of "cskd" (or any method declaring these names); validate()s them.
  static CskdOptions from(const Options& o);
  // Throws Error unless T, T_low > 0, T_high >= T_low, weights, eps and delta >= 0.
  void validate(const char* method = "cskd") const;
};

// The CSWT statistics of one batch.
struct Cswt {
  std::vector<double> row_cos;       // s_i
  std::vector<double> temperatures;  // T_i
  bool degenerate = false;           // the s_max − s_min <= δ rule fired
};
Cswt cswt(const fused::Matrix& student, const fused::Matrix& teacher, const CskdOptions& options);
// The same from f32 logits [B, C] (any device; the student is read, not differentiated).
Cswt cswt(const Tensor& student, const Tensor& teacher, const CskdOptions& options);

// L_cs with row temperatures tau (size B) on host logits, in double. When dz is
// given, adds scale·∂L/∂Zs to it. column_cos, when given, receives the c_j.
double batch_cosine(const fused::Matrix& student, const fused::Matrix& teacher, const std::vector<double>& tau,
                    double alpha, double eps, fused::Matrix* dz, double scale,
                    std::vector<double>* column_cos = nullptr);

// The same from the row probabilities P_s, P_t (softmax at the row temperatures,
// whose mean is mean_tau): adds scale·∂L/∂P_s to dp when given (the caller applies
// the softmax backward, so several terms on the same P share one).
double batch_cosine_probs(const fused::Matrix& ps, const fused::Matrix& pt, double mean_tau, double alpha,
                          double eps, fused::Matrix* dp, double scale, std::vector<double>* column_cos = nullptr);

// L_cs with row temperatures tau as a differentiable scalar (fused, one node):
// tau = {T, ..., T} gives L_cs(T), tau = cswt(...).temperatures gives L_cs^CSWT.
autograd::Variable batch_cosine_loss(const autograd::Variable& student, const Tensor& teacher,
                                     const std::vector<double>& tau, double alpha, double eps);
// The same from f32 autograd functions (softmax, mul, sum, sqrt, div), for the tests.
autograd::Variable batch_cosine_loss_composed(const autograd::Variable& student, const Tensor& teacher,
                                              const std::vector<double>& tau, double alpha, double eps);

// The temperatures the objective uses: options.temperatures when set, else CSWT.
std::vector<double> cswt_or_given(const fused::Matrix& student, const fused::Matrix& teacher,
                                  const CskdOptions& options);

// The core objective. Labels i64 [B] (may be undefined when w_ce = 0); epoch >= 1
// (unused: no warm-up). Terms: "ce" (w_ce·CE), "cs" (w_kd·L_cs(T)),
// "cswt" (w_kd·L_cs^CSWT), summing to the total.
LossResult cskd_loss(const autograd::Variable& student, const Tensor& teacher, const Tensor& labels,
                     const CskdOptions& options, int epoch);
// The same composed of f32 autograd functions (CSWT temperatures shared), for the tests.
LossResult cskd_loss_composed(const autograd::Variable& student, const Tensor& teacher, const Tensor& labels,
                              const CskdOptions& options, int epoch);

// The "cskd" row of the method table.
MethodInfo cskd_method();

}  // namespace distill
}  // namespace retort
