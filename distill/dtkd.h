// DTKD: Dynamic Temperature Knowledge Distillation (Wei, Bai; arXiv 2404.12711),
// METHODS.md §4. Reference code: JinYu1998/DTKD, mdistiller/distillers/DTKD.py.
//
//   x_i = max_k Zt[i,k], y_i = max_k Zs[i,k]            (plain max, as the code)
//   T_t,i = 2·x_i/(x_i + y_i)·τ,  T_s,i = 2·y_i/(x_i + y_i)·τ
//   L_DTKD = mean_i T_t,i·T_s,i·KL(softmax_{T_t,i}(Zt_i) ‖ softmax_{T_s,i}(Zs_i))
//   L_KD   = τ²·mean_i KL(softmax_τ(Zt_i) ‖ softmax_τ(Zs_i))
//   L = min(epoch/warmup, 1)·(α·L_DTKD + β·L_KD) + γ·CE
//
// Code-exact by default: the temperatures are not detached, so the gradient
// also flows through y_i into the student's maximum logit (to the first
// maximum when there are ties, as torch.max does).
#pragma once
#include <vector>

#include "distill/objective.h"

namespace retort {
namespace distill {

struct DtkdOptions {
  double tau = 4.0;     // reference temperature τ (T_t + T_s = 2τ), also the vanilla KD temperature
  double alpha = 3.0;   // weight of L_DTKD
  double beta = 1.0;    // weight of the vanilla KD term
  double gamma = 1.0;   // cross-entropy weight (outside the warm-up)
  double warmup = 20.0; // epochs of the linear warm-up of α·L_DTKD + β·L_KD; <= 0: none
  bool detach_temperature = false;  // treat T_t,i and T_s,i as constants (not code-exact)
  bool abs_max = false;             // x, y = max |logit| (the paper) instead of the plain max (the code)
  // x_i + y_i <= 0 (or x_i or y_i = 0) leaves the temperatures undefined, negative
  // or zero. false: an Error naming the row (default); true: T_t,i = T_s,i = τ
  // for that row, with no gradient through its temperatures.
  bool fallback_to_tau = false;
};

DtkdOptions dtkd_options(const Options& options);

// The per-sample temperatures of a batch (host values; `fallback[i]` marks rows
// that took T = τ under fallback_to_tau).
struct DtkdTemperatures {
  std::vector<double> teacher, student;
  std::vector<bool> fallback;
};
DtkdTemperatures dtkd_temperatures(const Tensor& student, const Tensor& teacher, const DtkdOptions& options);

// Fused pass (double precision on host copies, one autograd node). Terms:
// "ce" (γ·CE), "dtkd" (w·α·L_DTKD), "kd" (w·β·L_KD), w the warm-up factor.
LossResult dtkd_loss(const autograd::Variable& student, const Tensor& teacher, const Tensor& labels,
                     const DtkdOptions& options, int epoch);

// The same loss from f32 autograd functions (max, div, log_softmax, ...), the
// graph of the reference code; for checking dtkd_loss.
LossResult dtkd_loss_composed(const autograd::Variable& student, const Tensor& teacher, const Tensor& labels,
                              const DtkdOptions& options, int epoch);

MethodInfo dtkd_method();

}  // namespace distill
}  // namespace retort
